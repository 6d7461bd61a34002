"""The reservation table the DHCP server answers from.

A :class:`Host` is one reservation compiled for the wire: addresses as
packed bytes, its hostname option pre-encoded, and references to shared
:class:`Network` and :class:`BootConfig` objects. Those are interned by
value (:class:`Interner`), so 100,000 hosts of one pool share one Network
and one BootConfig, and the reply-option cache can key on their identity.

The :class:`Table` holds one ``{mac: Host}`` dict per source (``file``,
``ipam``) and a merged view that the server loop reads with one dict
lookup. Sources replace or patch their part; the file source wins over
the database for a MAC present in both.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable

from vmetal_ironic.agent.dhcp import codec


class Network:
    """Network parameters shared by many hosts (identity-hashed)."""

    __slots__ = ('netmask', 'mask', 'prefixlen', 'router', 'dns', 'domain',
                 'lease_time', 'mtu', 'routes', 'network', 'ntp',
                 '__weakref__')

    def __init__(self, prefixlen: int, router: bytes | None,
                 dns: tuple[bytes, ...], domain: str | None,
                 lease_time: int, mtu: int | None,
                 routes: tuple[tuple[bytes, int, bytes], ...],
                 network: int | None = None,
                 ntp: tuple[bytes, ...] = ()) -> None:
        self.prefixlen = prefixlen
        self.mask = (0xffffffff << (32 - prefixlen)) & 0xffffffff
        self.netmask = self.mask.to_bytes(4, 'big')
        self.router = router
        self.dns = dns
        self.domain = domain
        self.lease_time = lease_time
        self.mtu = mtu
        self.routes = routes
        self.network = network
        self.ntp = ntp

    def key(self) -> tuple:
        """The value this object is interned by."""
        return (self.prefixlen, self.router, self.dns, self.domain,
                self.lease_time, self.mtu, self.routes, self.network,
                self.ntp)

    def contains(self, addr: bytes) -> bool:
        """True if ``addr`` (4 bytes) is in this host's subnet."""
        if self.network is None:
            return True
        return int.from_bytes(addr, 'big') & self.mask == self.network


BOOT_FIELDS = ('bios_bootfile', 'uefi_bootfile', 'arm64_bootfile',
               'ipxe_script_url', 'http_boot_url', 'tftp_server')


class BootConfig:
    """The boot settings that apply to a host (identity-hashed).

    Already merged: node boot profile, then the reservation's own fields,
    then the agent's configured defaults. ``dhcp`` False: the node boots
    without DHCP (its profile's ``dhcp = 'off'``), the server stays silent.
    """

    __slots__ = BOOT_FIELDS + ('pxe_bootfile', 'dhcp', '__weakref__')

    def __init__(self, bios_bootfile: str | None = None,
                 uefi_bootfile: str | None = None,
                 arm64_bootfile: str | None = None,
                 ipxe_script_url: str | None = None,
                 http_boot_url: str | None = None,
                 tftp_server: str | None = None,
                 pxe_bootfile: str | None = None,
                 dhcp: bool = True) -> None:
        self.bios_bootfile = bios_bootfile
        self.uefi_bootfile = uefi_bootfile
        self.arm64_bootfile = arm64_bootfile
        self.ipxe_script_url = ipxe_script_url
        self.http_boot_url = http_boot_url
        self.tftp_server = tftp_server
        # Ironic's "bootfile" (chosen from the node's boot mode) overrides
        # the per-architecture choice.
        self.pxe_bootfile = pxe_bootfile
        self.dhcp = dhcp

    def key(self) -> tuple:
        """The value this object is interned by."""
        return tuple(getattr(self, f) for f in self.__slots__[:-1])


class Host:
    """One reservation, ready for the wire.

    ``origin`` is what an IPAM host was compiled from besides its own
    fields: a shared ``(pool name, BootProfile)`` pair (None for the file
    source). With it the local snapshot is written from the table itself,
    so the source keeps no copy of the records (one pointer per host).
    """

    __slots__ = ('mac', 'ip', 'client_id', 'hostname_opt', 'net', 'boot',
                 'node_uuid', 'source', 'origin')

    def __init__(self, mac: bytes, ip: bytes, net: Network, boot: BootConfig,
                 hostname: str | None = None, client_id: bytes | None = None,
                 node_uuid: str | None = None, source: str = '') -> None:
        self.mac = mac
        self.ip = ip
        self.net = net
        self.boot = boot
        self.client_id = client_id
        self.hostname_opt = (codec.opt(codec.OPT_HOSTNAME, hostname.encode())
                             if hostname else b'')
        self.node_uuid = node_uuid
        self.source = source
        self.origin: tuple[str, Any] | None = None

    @property
    def address(self) -> str:
        """Dotted address, for logs."""
        return codec.ipv4_text(self.ip)

    @property
    def hostname(self) -> str | None:
        """The hostname (option 12), decoded back."""
        return self.hostname_opt[2:].decode() if self.hostname_opt else None

    @property
    def label(self) -> str:
        """MAC and node, for logs."""
        mac = self.mac.hex(':')
        return '%s (node %s)' % (mac, self.node_uuid) if self.node_uuid \
            else mac


class Interner:
    """Hands out one shared object per distinct value."""

    def __init__(self) -> None:
        self._nets: dict[tuple, Network] = {}
        self._boots: dict[tuple, BootConfig] = {}

    def network(self, net: Network) -> Network:
        """The shared object equal to ``net``."""
        return self._nets.setdefault(net.key(), net)

    def boot(self, boot: BootConfig) -> BootConfig:
        """The shared object equal to ``boot``."""
        return self._boots.setdefault(boot.key(), boot)


class Table:
    """Reservations by MAC and by client identifier, fed by sources.

    Readers (the server loop) call :meth:`lookup` without a lock: every
    update replaces single dict entries or whole dicts, which is atomic
    under the GIL. Writers serialise on a lock.

    :meth:`replace` rebuilds the served views (O(table)); :meth:`update`
    patches them for the MACs it names only (O(changes)), so a sync that
    changes one reservation of 100,000 costs one reservation. Two hosts
    may claim one client identifier (a configuration error): the last one
    indexed answers, and all of them are remembered in ``_cid_dupes`` so
    that removing it hands the identifier to another, not to nobody.
    """

    PRIORITY = ('ipam', 'file')      # later sources win

    def __init__(self) -> None:
        self.by_mac: dict[bytes, Host] = {}
        self.by_client_id: dict[bytes, Host] = {}
        self._cid_dupes: dict[bytes, list[Host]] = {}
        # IPv6 hosts (:class:`~vmetal_ironic.agent.dhcp6.hosts.Host6`) of
        # the same sources, apart: a MAC may have one host of each family.
        self.by_mac6: dict[bytes, Any] = {}
        self.by_duid6: dict[bytes, Any] = {}
        self._sources: dict[str, dict[bytes, Host]] = {}
        self._sources6: dict[str, dict[bytes, Any]] = {}
        self._lock = threading.Lock()
        self.interner = Interner()

    def __len__(self) -> int:
        return len(self.by_mac)

    def lookup(self, chaddr: bytes, options: dict[int, bytes]) -> Host | None:
        """The reservation of a client: by MAC, then by client-id (61)."""
        host = self.by_mac.get(chaddr)
        if host is None and self.by_client_id:
            cid = options.get(codec.OPT_CLIENT_ID)
            if cid is not None:
                host = self.by_client_id.get(cid)
        return host

    def replace(self, source: str,
                hosts: Iterable[Host] | dict[bytes, Host]) -> int:
        """Replace everything ``source`` provides; returns the count.

        :param hosts: hosts, or a {key: Host} dict that the table takes
            over (no copy) when it holds IPv4 hosts only; IPv6 hosts
            (any other type) go to :attr:`by_mac6` by their MAC.
        """
        if not isinstance(hosts, dict):
            hosts = list(hosts)
        new = hosts if isinstance(hosts, dict) else {
            h.mac: h for h in hosts if type(h) is Host}
        new6 = {}
        values = hosts.values() if isinstance(hosts, dict) else hosts
        if any(type(h) is not Host for h in values):
            new6 = {h.mac: h for h in values if type(h) is not Host}
            if isinstance(hosts, dict):
                new = {h.mac: h for h in hosts.values() if type(h) is Host}
        with self._lock:
            self._sources[source] = new
            self._sources6[source] = new6
            self._rebuild()
            self._rebuild6()
        return len(new) + len(new6)

    def update(self, source: str, upserts: Iterable[Host],
               deletes: Iterable[bytes],
               deletes6: Iterable[bytes] | None = None) -> None:
        """Apply an incremental change of ``source``.

        O(changes) for IPv4 hosts; a change that touches IPv6 hosts rebuilds
        the (separate, usually small) IPv6 views. A MAC has at most one host
        of each family per source (a dual-stack port has both): an upsert
        replaces the host of its own family only.

        :param deletes: MACs whose hosts go: of both families, or, when
            ``deletes6`` is given, the IPv4 ones only.
        :param deletes6: MACs whose IPv6 host goes.
        """
        with self._lock:
            if source not in self._sources:
                self._sources[source] = {}
                self._rebuild()
            mine = self._sources[source]
            mine6 = self._sources6.setdefault(source, {})
            touched6 = False
            served = self.by_mac
            shared = served is mine
            # the host served at each touched MAC before this change
            before: dict[bytes, Host | None] = {}
            both = deletes6 is None
            for mac in deletes:
                before.setdefault(mac, served.get(mac))
                mine.pop(mac, None)
                if both:
                    touched6 = mine6.pop(mac, None) is not None or touched6
            for mac in deletes6 or ():
                touched6 = mine6.pop(mac, None) is not None or touched6
            for h in upserts:
                if type(h) is not Host:
                    mine6[h.mac] = h
                    touched6 = True
                    continue
                before.setdefault(h.mac, served.get(h.mac))
                mine[h.mac] = h
            if touched6:
                self._rebuild6()
            for mac, old in before.items():
                new = self._winner(mac)
                if not shared:
                    if new is None:
                        served.pop(mac, None)
                    else:
                        served[mac] = new
                if old is not new:
                    self._unindex(old)
                    self._index(new)

    def source_view(self, source: str) -> dict[bytes, Host]:
        """The hosts a source provides, not copied: do not modify."""
        return self._sources.get(source, {})

    def source_view6(self, source: str) -> dict[bytes, Any]:
        """The IPv6 hosts a source provides, not copied: do not modify."""
        return self._sources6.get(source, {})

    def source_hosts(self, source: str) -> dict[bytes, Host]:
        """A copy of the hosts a source provides."""
        return dict(self._sources.get(source, {}))

    def _winner(self, mac: bytes) -> Host | None:
        """The host served at ``mac``: the last source in PRIORITY."""
        for name in reversed(self.PRIORITY):
            src = self._sources.get(name)
            if src is not None:
                host = src.get(mac)
                if host is not None:
                    return host
        return None

    def _index(self, host: Host | None) -> None:
        if host is None or not host.client_id:
            return
        cid = host.client_id
        holder = self.by_client_id.get(cid)
        if holder is not None and holder is not host:
            self._cid_dupes.setdefault(cid, [holder]).append(host)
        self.by_client_id[cid] = host

    def _unindex(self, host: Host | None) -> None:
        if host is None or not host.client_id:
            return
        cid = host.client_id
        dupes = self._cid_dupes.get(cid)
        if dupes is None:
            if self.by_client_id.get(cid) is host:
                del self.by_client_id[cid]
            return
        dupes.remove(host)
        if self.by_client_id.get(cid) is host:
            self.by_client_id[cid] = dupes[-1]
        if len(dupes) == 1:
            del self._cid_dupes[cid]

    def _rebuild(self) -> None:
        srcs = [self._sources[s] for s in self.PRIORITY if s in self._sources]
        if len(srcs) == 1:
            # One source: serve its dict itself; its owner only replaces or
            # patches single entries, which readers see atomically.
            merged = srcs[0]
        else:
            merged = {}
            for s in srcs:
                merged.update(s)
        cids: dict[bytes, Host] = {}
        dupes: dict[bytes, list[Host]] = {}
        for h in merged.values():
            cid = h.client_id
            if not cid:
                continue
            holder = cids.get(cid)
            if holder is not None:
                dupes.setdefault(cid, [holder]).append(h)
            cids[cid] = h
        self.by_mac = merged
        self.by_client_id = cids
        self._cid_dupes = dupes

    def _rebuild6(self) -> None:
        srcs6 = [self._sources6[s] for s in self.PRIORITY
                 if self._sources6.get(s)]
        merged6 = srcs6[0] if len(srcs6) == 1 else {}
        if len(srcs6) > 1:
            for s6 in srcs6:
                merged6.update(s6)
        self.by_mac6 = merged6
        self.by_duid6 = {h.duid: h for h in merged6.values() if h.duid}


def parse_mac(value: Any) -> bytes:
    """``aa:bb:cc:dd:ee:ff`` (or ``-`` separated) -> 6 bytes.

    :raises ValueError: not a MAC address.
    """
    if not isinstance(value, str):
        raise ValueError('not a string')
    raw = bytes.fromhex(value.replace(':', '').replace('-', ''))
    if len(raw) != 6:
        raise ValueError('not 6 octets')
    return raw


def parse_client_id(value: Any) -> bytes:
    """A client identifier: hex octets (``01:52:54:...``) or plain text.

    :raises ValueError: empty or not a string.
    """
    if not isinstance(value, str) or not value:
        raise ValueError('not a non-empty string')
    try:
        return bytes.fromhex(value.replace(':', ''))
    except ValueError:
        return value.encode()
