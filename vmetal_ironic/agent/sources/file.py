"""Reservations from a static JSON file (standalone mode).

Format (other tools write it)::

    {"defaults": {"prefix": 24, "gateway": "172.22.0.1",
                  "dns_servers": ["172.22.0.53"], "domain": "prov.example",
                  "lease_time": 1800,
                  "ipxe_script_url": "http://172.22.0.2:8080/boot.ipxe"},
     "hosts": [{"mac": "52:54:00:00:00:01", "ip": "172.22.0.50",
                "hostname": "node-1"}]}

Any host field may stand in ``defaults``. Host fields: ``mac``, ``ip``
(required), ``hostname``, ``client_id``, ``node_uuid``, ``prefix`` or
``netmask``, ``gateway``, ``dns_servers``, ``ntp_servers``, ``domain``,
``lease_time``, ``mtu``, ``routes`` (``[{"destination": CIDR, "gateway":
IP}]``) and the boot fields ``bios_bootfile``, ``uefi_bootfile``,
``arm64_bootfile``, ``ipxe_script_url``, ``http_boot_url``,
``tftp_server``. Unknown fields
and duplicate MACs are errors.

At start-up an invalid file is a :class:`~vmetal_ironic.exception.
ReservationFileError` (the agent exits); on reload (SIGHUP) it is logged
and the previous reservations stay in service.
"""

from __future__ import annotations

import json
from typing import Any

from oslo_log import log

from vmetal_ironic.agent import component
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.sources import hostspec
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.agent.sources.reservations import Host
from vmetal_ironic.agent.sources.reservations import Interner
from vmetal_ironic.agent.sources.reservations import Table
from vmetal_ironic import exception

LOG = log.getLogger(__name__)

SOURCE = 'file'


def load_hosts(doc: Any, default_lease: int,
               boot_defaults: dict[str, str | None],
               interner: Interner,
               previous: dict[bytes, Host] | None = None,
               boot_defaults6: dict[str, str | None] | None = None
               ) -> dict[bytes, Host]:
    """Validate a parsed reservations document and compile its hosts.

    An entry whose ``ip`` is IPv6 is a DHCPv6 host (one of each family
    per MAC at most; its key in the result is the MAC and ``b'6'``).

    The host entries of ``doc`` are released as they are compiled, and an
    unchanged host reuses its object from ``previous`` (the table in
    service), which keeps the peak memory of a large file, and of its
    reload, near the size of one copy.

    :returns: {MAC bytes: Host}.
    :raises hostspec.HostSpecError: naming the host and field.
    """
    if not isinstance(doc, dict):
        raise hostspec.HostSpecError('the document is not a JSON object')
    unknown = set(doc) - {'defaults', 'hosts'}
    if unknown:
        raise hostspec.HostSpecError('unknown top-level keys: %s'
                                     % ', '.join(sorted(unknown)))
    defaults = doc.get('defaults') or {}
    hosts = doc.get('hosts')
    if not isinstance(defaults, dict):
        raise hostspec.HostSpecError('"defaults" is not an object')
    if not isinstance(hosts, list):
        raise hostspec.HostSpecError('"hosts" is missing or not a list')
    _check_keys(defaults, 'defaults')
    # Hosts that only add mac/ip/hostname/client_id/node_uuid share the
    # defaults' network and boot objects (fast path for large files).
    dboot = hostspec.boot(defaults, boot_defaults, interner)
    template = None
    out: dict[bytes, Host] = {}
    for i, h in enumerate(hosts):
        where = 'hosts[%d]' % i
        try:
            if type(h) is tuple:
                # compact entry made by _compact_hook: (mac + ip, hostname)
                host, simple = _compact_host(h, template, dboot, defaults,
                                             default_lease, interner), True
            elif isinstance(h, dict):
                own = _check_keys(h, where)
                simple = own <= _HOST_ONLY
                spec = h if not defaults else hostspec.merge(defaults, h)
                host = hostspec.compile_host(
                    spec, template if simple else None,
                    dboot if not own & _BOOT else None,
                    default_lease, boot_defaults, interner, SOURCE,
                    boot_defaults6)
            else:
                raise hostspec.HostSpecError('%s is not an object' % where)
        except hostspec.HostSpecError as e:
            if str(e).startswith(where):
                raise
            raise hostspec.HostSpecError('%s (mac %s): %s'
                                         % (where, _entry_mac(h), e))
        if type(host) is not Host:
            key = host.mac + b'6'
            if key in out:
                raise hostspec.HostSpecError(
                    '%s: mac %s already has an IPv6 reservation'
                    % (where, host.mac.hex(':')))
            out[key] = host
            hosts[i] = None
            continue
        if simple:
            template = host.net
        if host.mac in out:
            raise hostspec.HostSpecError(
                '%s: mac %s is already reserved by an earlier host'
                % (where, host.mac.hex(':')))
        if previous:
            old = previous.get(host.mac)
            if old is not None and same_host(old, host):
                host = old
        out[host.mac] = host
        hosts[i] = None         # release the parsed entry
    return out


def _entry_mac(entry: Any) -> Any:
    if type(entry) is tuple:
        return entry[0][:6].hex(':')
    return entry.get('mac')


def _compact_host(entry: tuple, template: Any, dboot: Any,
                  defaults: dict[str, Any], default_lease: int,
                  interner: Interner) -> Host:
    packed, hostname = entry
    mac, ip = packed[:6], packed[6:]
    net = template
    if net is None or not net.contains(ip):
        net = hostspec.network(defaults, ip, default_lease, interner)
    return Host(mac, ip, net, dboot, hostname=hostname, source=SOURCE)


_COMPACT_KEYS = (frozenset(('mac', 'ip')),
                 frozenset(('mac', 'ip', 'hostname')))


def _compact_hook(pairs: list[tuple[str, Any]]) -> Any:
    """The ``object_pairs_hook`` of json: compact simple hosts.

    A host of only mac/ip(/hostname) with valid values becomes (mac + ip
    bytes, hostname), about a third of the memory of a dict with its
    strings; anything else stays a dict (and is validated, with error
    messages, by :func:`load_hosts`).
    """
    if 2 <= len(pairs) <= 3:
        d = dict(pairs)
        if frozenset(d) in _COMPACT_KEYS:
            hostname = d.get('hostname')
            if hostname is None or (isinstance(hostname, str) and hostname):
                try:
                    return (reservations.parse_mac(d['mac'])
                            + hostspec.ipv4(d['ip'], 'ip'), hostname)
                except (ValueError, hostspec.HostSpecError):
                    pass
        return d
    return dict(pairs)


def same_host(a: Host, b: Host) -> bool:
    """True if two hosts answer identically.

    Shared objects are compared by identity: both come from one interner.
    """
    return (a.ip == b.ip and a.net is b.net and a.boot is b.boot
            and a.hostname_opt == b.hostname_opt
            and a.client_id == b.client_id and a.node_uuid == b.node_uuid)


_HOST_ONLY = frozenset(hostspec.HOST_FIELDS)
_BOOT = frozenset(hostspec.BOOT_FIELDS)


def _check_keys(d: dict, where: str) -> set[str]:
    keys = set(d)
    unknown = keys - hostspec.ALL_FIELDS
    if unknown:
        raise hostspec.HostSpecError('%s: unknown fields %s' % (
            where, ', '.join(sorted(unknown))))
    return keys


def read_file(path: str, default_lease: int,
              boot_defaults: dict[str, str | None],
              interner: Interner,
              previous: dict[bytes, Host] | None = None,
              boot_defaults6: dict[str, str | None] | None = None
              ) -> dict[bytes, Host]:
    """Read and compile a reservations file.

    :raises exception.ReservationFileError: unreadable or invalid.
    """
    try:
        with open(path, 'rb') as f:
            doc = json.load(f, object_pairs_hook=_compact_hook)
    except OSError as e:
        raise exception.ReservationFileError(path=path, reason=str(e))
    except ValueError as e:
        raise exception.ReservationFileError(
            path=path, reason='not valid JSON: %s' % e)
    try:
        return load_hosts(doc, default_lease, boot_defaults, interner,
                          previous, boot_defaults6)
    except hostspec.HostSpecError as e:
        raise exception.ReservationFileError(path=path, reason=str(e))


class FileSource(component.Component):
    """Agent component: keeps the table's ``file`` part equal to the file.

    :meth:`start` loads it (and raises on an invalid file); :meth:`reload`
    (SIGHUP) swaps in the new content, or logs the error and keeps the
    previous reservations.
    """

    name = 'file-source'

    def __init__(self, table: Table, path: str, default_lease: int,
                 boot_defaults: dict[str, str | None],
                 boot_defaults6: dict[str, str | None] | None = None) -> None:
        self.table = table
        self.path = path
        self.default_lease = default_lease
        self.boot_defaults = boot_defaults
        self.boot_defaults6 = boot_defaults6

    def _load(self) -> int:
        hosts = read_file(self.path, self.default_lease, self.boot_defaults,
                          self.table.interner,
                          self.table.source_view(SOURCE),
                          self.boot_defaults6)
        return self.table.replace(SOURCE, hosts)

    def start(self) -> None:
        """Load the file; raises ReservationFileError if it is invalid."""
        n = self._load()
        LOG.info('Loaded %d reservations from %s', n, self.path)
        metrics.source_synced(SOURCE)

    def reload(self) -> bool:
        """Re-read the file; on error keep the previous reservations."""
        try:
            n = self._load()
        except exception.ReservationFileError as e:
            LOG.error('Reload failed, keeping the previous %d reservations: '
                      '%s', len(self.table.source_hosts(SOURCE)), e)
            return False
        LOG.info('Reloaded %d reservations from %s', n, self.path)
        metrics.source_synced(SOURCE)
        return True

    def stop(self) -> None:
        """Nothing to stop."""
