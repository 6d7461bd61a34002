"""Who owns ``node.network_data``: the operator or vmetal.

The interface records in ``driver_internal_info['vmetal_network_data']``
what it did with the document:

* ``generated``: vmetal rendered it (the node had none);
* ``merged``: the operator's template (a network without ``ip_address``)
  was filled; the template itself is kept under ``template``;
* ``operator``: the operator's document was used verbatim.

For the first two the digest of what was written is stored as well: if the
document no longer has that digest, the operator changed it and it is
theirs from then on; vmetal never overwrites an operator's document. At
tear down a generated document is removed and a merged one is put back to
the operator's template.
"""

import hashlib
import json

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.conf import CONF
from vmetal_ironic.network import configdrive
from vmetal_ironic.network import network_data

LOG = log.getLogger(__name__)

KEY = 'vmetal_network_data'
GENERATED = 'generated'
MERGED = 'merged'
OPERATOR = 'operator'


def digest(document):
    """A stable digest of a JSON document."""
    blob = json.dumps(document or {}, sort_keys=True,
                      separators=(',', ':'))
    return hashlib.sha256(blob.encode()).hexdigest()


def schema_path():
    """Ironic's ``[api]network_data_schema`` when registered, else None."""
    try:
        return CONF.api.network_data_schema
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None


def _record(node):
    return (node.driver_internal_info or {}).get(KEY) or {}


def is_ours(node):
    """True if node.network_data is what vmetal last wrote."""
    record = _record(node)
    return (record.get('mode') in (GENERATED, MERGED)
            and record.get('digest') == digest(node.network_data))


def document_for(node, allocation, links):
    """(document, mode, template) the node should have for ``allocation``.

    :raises: vmetal_ironic.exception.InvalidInput if the template cannot
        take the address.
    """
    if is_ours(node):
        template = _record(node).get('template')
    else:
        template = node.network_data or None
    if not template:
        doc = network_data.render(allocation, links)
        mode = GENERATED
    elif network_data.needs_merge(template):
        doc = network_data.merge(template, allocation)
        mode = MERGED
    else:
        return template, OPERATOR, None
    return doc, mode, template


def apply(node, allocation, links):
    """Set node.network_data for the allocation; True if the node changed.

    A new document is validated against Ironic's schema before it is set.
    Does not save the node.

    :raises: vmetal_ironic.exception.InvalidInput
    """
    doc, mode, template = document_for(node, allocation, links)
    record = {'mode': mode, 'address': allocation.address,
              'pool': allocation.pool_name}
    if mode != OPERATOR:
        if not CONF.vmetal.generate_network_data and mode == GENERATED:
            return False
        record['digest'] = digest(doc)
        if template:
            record['template'] = template
    if _record(node) == record and (mode == OPERATOR
                                    or node.network_data == doc):
        return False
    if mode != OPERATOR:
        network_data.validate(doc, schema_path())
        node.network_data = doc
    node.set_driver_internal_info(KEY, record)
    LOG.info('Node %(node)s: network_data %(mode)s for %(addr)s of pool '
             '%(pool)s', {'node': node.uuid, 'mode': mode,
                          'addr': allocation.address,
                          'pool': allocation.pool_name})
    return True


def restore(node):
    """Undo apply() at tear down; True if the node changed.

    A document the operator changed since is left as it is.
    """
    record = _record(node)
    if not record:
        return False
    if is_ours(node):
        node.network_data = record.get('template') or {}
    node.del_driver_internal_info(KEY)
    return True


def inject_configdrive(node):
    """Put node.network_data into instance_info['configdrive'].

    :returns: True if instance_info changed (not saved).
    """
    if not CONF.vmetal.inject_configdrive or not node.network_data:
        return False
    current = node.instance_info.get('configdrive')
    value, action = configdrive.with_network_data(
        current, node.network_data, node.uuid,
        hostname=node.name or node.uuid)
    if action in (configdrive.UNCHANGED, configdrive.SKIPPED):
        return False
    node.set_instance_info('configdrive', value)
    LOG.info('Node %(node)s: network_data %(action)s in the config drive',
             {'node': node.uuid, 'action': action})
    return True
