"""Who owns ``node.network_data``: the operator or vmetal.

The interface records in ``driver_internal_info['vmetal_network_data']``
what it did with the document:

* ``generated``: vmetal rendered it (the node had none);
* ``merged``: the operator's template (a network without ``ip_address``)
  was filled; the template itself is kept under ``template``;
* ``operator``: the operator's document was used verbatim;
* ``converted``: the operator's cloud-init network-config v2
  (``node.extra['vmetal_network_config']``, :mod:`.netconfig_v2`) was
  converted and written as it is (all its networks have addresses).

A template may come from ``node.network_data`` or from a v2 document
(``source`` ``network_config`` in the record); both go through the same
merge rules. For all but ``operator`` the digest of what was written is
stored as well: if the document no longer has that digest, the operator
changed it and it is theirs from then on; vmetal never overwrites an
operator's document. At tear down a generated or converted document is
removed and a merged one is put back to the operator's template (removed
when the template came from a v2 document: that stays in ``node.extra``).
"""

import hashlib
import json

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.conf import CONF
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.network import configdrive
from vmetal_ironic.network import netconfig_v2
from vmetal_ironic.network import network_data

LOG = log.getLogger(__name__)

KEY = 'vmetal_network_data'
GENERATED = 'generated'
MERGED = 'merged'
OPERATOR = 'operator'
CONVERTED = 'converted'
#: Record ``source`` of a template converted from ``node.extra``.
NETWORK_CONFIG = 'network_config'
_OURS = (GENERATED, MERGED, CONVERTED)


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
    return (record.get('mode') in _OURS
            and record.get('digest') == digest(node.network_data))


def network_config(node):
    """The operator's v2 network-config of ``node``, or None."""
    return (node.extra or {}).get(netconfig_v2.EXTRA_KEY)


def operator_document(node):
    """(template, source) the operator gave, or (None, None).

    ``node.network_data`` (source None) or the conversion of
    ``node.extra['vmetal_network_config']`` (source
    :data:`NETWORK_CONFIG`); giving both is an error.

    :raises: vmetal_ironic.exception.InvalidInput
    """
    config = network_config(node)
    if config is None:
        return node.network_data or None, None
    if node.network_data:
        raise exception.InvalidInput(
            reason=_('both node.network_data and extra/%s are set: give '
                     'the network in one of them')
            % netconfig_v2.EXTRA_KEY)
    return netconfig_v2.convert(config), NETWORK_CONFIG


def document_for(node, allocation, links):
    """(document, mode, template, source) for ``allocation``.

    :raises: vmetal_ironic.exception.InvalidInput if the template cannot
        take the address or a v2 document does not convert.
    """
    if is_ours(node):
        record = _record(node)
        template, source = record.get('template'), record.get('source')
    else:
        template, source = operator_document(node)
    if not template:
        doc = network_data.render(allocation, links)
        mode = GENERATED
    elif network_data.needs_merge(template):
        doc = network_data.merge(template, allocation)
        mode = MERGED
    elif source == NETWORK_CONFIG:
        doc, mode = template, CONVERTED
    else:
        return template, OPERATOR, None, None
    return doc, mode, template, source


def apply(node, allocation, links):
    """Set node.network_data for the allocation; True if the node changed.

    :param allocation: the node's allocation, or its allocations (a
        dual-stack node: one per IP version, the first is recorded as
        ``address``/``pool``, the others under ``also``).

    A new document is validated against Ironic's schema before it is set.
    Does not save the node.

    :raises: vmetal_ironic.exception.InvalidInput
    """
    allocations = network_data._as_list(allocation)
    allocation = allocations[0]
    doc, mode, template, source = document_for(
        node, allocations if len(allocations) > 1 else allocation, links)
    record = {'mode': mode, 'address': allocation.address,
              'pool': allocation.pool_name}
    if len(allocations) > 1:
        record['also'] = [{'address': a.address, 'pool': a.pool_name}
                          for a in allocations[1:]]
    if source:
        record['source'] = source
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
        if record.get('source') == NETWORK_CONFIG:
            node.network_data = {}
        else:
            node.network_data = record.get('template') or {}
    node.del_driver_internal_info(KEY)
    return True


def inject_configdrive(node, ntp_servers=()):
    """Put node.network_data (and NTP servers) into the config drive.

    :param ntp_servers: the pool's NTP servers, for the vendor data.
    :returns: True if instance_info changed (not saved).
    """
    if not CONF.vmetal.inject_configdrive or not node.network_data:
        return False
    current = node.instance_info.get('configdrive')
    value, action = configdrive.with_network_data(
        current, node.network_data, node.uuid,
        hostname=node.name or node.uuid,
        vendor_data=configdrive.ntp_vendor_data(ntp_servers))
    if action in (configdrive.UNCHANGED, configdrive.SKIPPED):
        return False
    node.set_instance_info('configdrive', value)
    LOG.info('Node %(node)s: network_data %(action)s in the config drive',
             {'node': node.uuid, 'action': action})
    return True
