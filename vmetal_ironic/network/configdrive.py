"""Put a node's network_data into its instance config drive.

Ironic never copies ``node.network_data`` into the config drive of the
deployed OS (only Neutron-backed interfaces with the ``metadata``
capability regenerate it). The vmetal interface calls
:func:`with_network_data` before the image is written, on the value of
``instance_info['configdrive']``:

* nothing: a new dict config drive with ``meta_data`` (uuid, name,
  hostname) and ``network_data``; Ironic builds the ISO at write time;
* a dict without ``network_data``: it gets it (a dict that has one is the
  user's choice and stays);
* a gzip+base64 ISO: its ``openstack/latest/network_data.json`` is replaced
  with Ironic's own ISO helpers (needs ``mkisofs``/``genisoimage``);
* a URL: left alone with a warning (it is fetched by the ramdisk).

The pool's NTP servers have no place in network_data.json (its services
are DNS only); they travel as vendor data, which Ironic writes to
``openstack/latest/vendor_data2.json`` and cloud-init reads as
cloud-config (:func:`ntp_vendor_data`): a dict config drive without
``vendor_data`` gets it. The user's own user-data still wins, cloud-init
merges it over vendor data.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import os
import tempfile
from typing import Any

from oslo_log import log

LOG = log.getLogger(__name__)

NETWORK_DATA_PATH = '/openstack/latest/network_data.json'
META_DATA_PATH = '/openstack/latest/meta_data.json'

# What with_network_data did, for logs and tests.
CREATED = 'created'
ADDED = 'added'
REPLACED = 'replaced'
UNCHANGED = 'unchanged'
SKIPPED = 'skipped'


def _is_url(value: str) -> bool:
    return value.split('://', 1)[0].lower() in ('http', 'https', 'swift',
                                                'file')


def decode_iso(configdrive: str) -> bytes:
    """The ISO bytes of a gzip+base64 config drive (ValueError if not)."""
    try:
        return gzip.decompress(base64.b64decode(configdrive,
                                                validate=False))
    except (binascii.Error, OSError, EOFError) as e:
        raise ValueError('not a gzip+base64 config drive: %s' % e)


def read_iso_file(iso_bytes: bytes, path: str) -> bytes | None:
    """Content of ``path`` in an ISO image, None when it is not there."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    try:
        iso.open_fp(io.BytesIO(iso_bytes))
    except pycdlib.pycdlibexception.PyCdlibException as e:
        raise ValueError('not an ISO 9660 image: %s' % e)
    try:
        for kind in ('rr_path', 'joliet_path', 'iso_path'):
            try:
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, **{kind: path})
                return out.getvalue()
            except pycdlib.pycdlibexception.PyCdlibException:
                continue
        return None
    finally:
        iso.close()


def read_network_data(configdrive: str) -> dict[str, Any] | None:
    """The network_data.json of a gzip+base64 config drive, if any."""
    content = read_iso_file(decode_iso(configdrive), NETWORK_DATA_PATH)
    if content is None:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def replace_network_data(configdrive: str, network_data: dict[str, Any],
                         node_uuid: str) -> str:
    """A copy of an ISO config drive with another network_data.json.

    Uses Ironic's ``configdrive_utils.regenerate_iso`` (extract, override,
    ``mkisofs``) and returns gzip+base64 again.
    """
    import pycdlib

    from ironic.conductor import configdrive_utils

    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(decode_iso(configdrive)))
    fd, dest = tempfile.mkstemp(suffix='.iso')
    os.close(fd)
    try:
        configdrive_utils.regenerate_iso(
            iso, dest, {NETWORK_DATA_PATH: json.dumps(network_data)},
            node_uuid=node_uuid)
        with open(dest, 'rb') as fp:
            return base64.b64encode(gzip.compress(fp.read())).decode()
    finally:
        iso.close()
        os.unlink(dest)


def ntp_vendor_data(servers: tuple[str, ...] | list[str]
                    ) -> dict[str, str] | None:
    """Vendor data that makes cloud-init use ``servers`` for time."""
    if not servers:
        return None
    lines = ['#cloud-config', 'ntp:', '  enabled: true', '  servers:']
    lines += ['  - %s' % server for server in servers]
    return {'cloud-init': '\n'.join(lines) + '\n'}


def with_network_data(configdrive: Any, network_data: dict[str, Any],
                      node_uuid: str, hostname: str | None = None,
                      vendor_data: dict[str, Any] | None = None
                      ) -> tuple[Any, str]:
    """The config drive to deploy with, carrying ``network_data``.

    :param configdrive: ``instance_info['configdrive']`` (None, dict,
        gzip+base64 ISO string or URL).
    :param network_data: the node's network_data document.
    :param node_uuid: the node, for meta_data and log messages.
    :param hostname: meta_data hostname/name of a new config drive.
    :param vendor_data: vendor data for a dict config drive that has none
        (see :func:`ntp_vendor_data`).
    :returns: ``(new value, action)``; action is one of CREATED, ADDED,
        REPLACED, UNCHANGED, SKIPPED.
    """
    if not configdrive:
        meta = {'uuid': node_uuid}
        if hostname:
            meta['hostname'] = hostname
            meta['name'] = hostname
        created = {'meta_data': meta, 'network_data': network_data}
        if vendor_data:
            created['vendor_data'] = vendor_data
        return created, CREATED
    if isinstance(configdrive, dict):
        result = dict(configdrive)
        if not result.get('network_data'):
            result['network_data'] = network_data
        if vendor_data and 'vendor_data' not in result:
            result['vendor_data'] = vendor_data
        if result == configdrive:
            return configdrive, UNCHANGED
        return result, ADDED
    if not isinstance(configdrive, str):
        LOG.warning('Node %(node)s: config drive of type %(type)s left '
                    'alone; it will not carry the vmetal network_data.',
                    {'node': node_uuid, 'type': type(configdrive).__name__})
        return configdrive, SKIPPED
    if _is_url(configdrive):
        LOG.warning('Node %s: the config drive is a URL; vmetal cannot put '
                    'the allocated address into it, so the deployed OS '
                    'gets its network configuration only from that config '
                    'drive or from DHCP.', node_uuid)
        return configdrive, SKIPPED
    try:
        iso = decode_iso(configdrive)
        if read_iso_file(iso, META_DATA_PATH) is None:
            raise ValueError('no %s: not an OpenStack config drive'
                             % META_DATA_PATH)
        current = read_iso_file(iso, NETWORK_DATA_PATH)
    except ValueError as e:
        LOG.warning('Node %(node)s: the config drive could not be read '
                    '(%(err)s); left alone.', {'node': node_uuid, 'err': e})
        return configdrive, SKIPPED
    try:
        if current is not None and json.loads(current) == network_data:
            return configdrive, UNCHANGED
    except ValueError:
        pass                        # not JSON: replaced below
    return (replace_network_data(configdrive, network_data, node_uuid),
            REPLACED)
