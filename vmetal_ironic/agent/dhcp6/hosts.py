"""IPv6 reservations compiled for the wire (pure).

A :class:`Host6` is the IPv6 twin of
:class:`~vmetal_ironic.agent.sources.reservations.Host`: the reserved
address as 16 bytes, a shared :class:`Network6` (prefix, DNS servers,
domain list, lifetimes) and the shared boot settings. Both kinds live in
the one :class:`~vmetal_ironic.agent.sources.reservations.Table`, fed by
the same sources: the IPAM source compiles a reservation of an IPv6 pool
with :func:`from_pool`, the reservations file an entry whose ``ip`` is an
IPv6 address with :func:`from_spec`.

There is no gateway, route or MTU here: on IPv6 they come from the
segment's router advertisements (RFC 4861), not from DHCP.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, cast

from vmetal_ironic.agent.dhcp6 import codec
from vmetal_ironic.agent.sources.reservations import BootConfig
from vmetal_ironic.agent.sources.reservations import Interner

FAMILY = 6
DEFAULT_PREFIX = 64


class Network6:
    """Parameters shared by the hosts of one IPv6 prefix (identity-hashed).

    ``dns_opt``, ``domain_opt`` and ``ntp_opt`` hold options 23, 24 and
    56 (RFC 5908: the NTP servers) ready for the wire; the lifetimes
    are the valid and preferred lifetimes of the address and T1/T2 are
    1/2 and 4/5 of the preferred one (RFC 8415 21.4 recommends 0.5/0.8).
    """

    __slots__ = ('prefixlen', 'network', 'mask', 'dns', 'domain',
                 'lease_time', 't1', 't2', 'dns_opt', 'domain_opt',
                 'ntp', 'ntp_opt', '__weakref__')

    def __init__(self, prefixlen: int, network: int,
                 dns: tuple[bytes, ...], domain: str | None,
                 lease_time: int, ntp: tuple[bytes, ...] = ()) -> None:
        self.prefixlen = prefixlen
        self.mask = ((1 << 128) - 1) ^ ((1 << (128 - prefixlen)) - 1)
        self.network = network & self.mask
        self.dns = dns
        self.domain = domain
        self.lease_time = lease_time
        self.t1 = lease_time // 2
        self.t2 = lease_time * 4 // 5
        self.dns_opt = codec.opt(codec.OPT_DNS_SERVERS, b''.join(dns)) \
            if dns else b''
        self.domain_opt = codec.opt(codec.OPT_DOMAIN_LIST,
                                    codec.domain_list((domain,))) \
            if domain else b''
        self.ntp = ntp
        self.ntp_opt = codec.opt(codec.OPT_NTP_SERVER,
                                 codec.ntp_servers(ntp)) if ntp else b''

    def key(self) -> tuple:
        """The value this object is interned by."""
        return (FAMILY, self.prefixlen, self.network, self.dns, self.domain,
                self.lease_time, self.ntp)

    def contains(self, addr: bytes) -> bool:
        """True if ``addr`` (16 bytes) is in this prefix."""
        return int.from_bytes(addr, 'big') & self.mask == self.network


class Host6:
    """One IPv6 reservation, ready for the wire."""

    __slots__ = ('mac', 'ip', 'net', 'boot', 'duid', 'hostname', 'node_uuid',
                 'source', 'origin')

    family = FAMILY

    def __init__(self, mac: bytes, ip: bytes, net: Network6,
                 boot: BootConfig, duid: bytes | None = None,
                 hostname: str | None = None, node_uuid: str | None = None,
                 source: str = '') -> None:
        self.mac = mac
        self.ip = ip
        self.net = net
        self.boot = boot
        self.duid = duid
        self.hostname = hostname
        self.node_uuid = node_uuid
        self.source = source
        # (pool name, boot profile) of an IPAM host (the snapshot's record)
        self.origin: tuple[str, Any] | None = None

    @property
    def address(self) -> str:
        return socket.inet_ntop(socket.AF_INET6, self.ip)

    @property
    def label(self) -> str:
        """MAC and node, for logs."""
        mac = self.mac.hex(':')
        return '%s (node %s)' % (mac, self.node_uuid) if self.node_uuid \
            else mac

    def same(self, other: Any) -> bool:
        """True if ``other`` answers identically (shared parts by identity)."""
        return (isinstance(other, Host6) and self.mac == other.mac
                and self.ip == other.ip and self.net is other.net
                and self.boot is other.boot and self.duid == other.duid
                and self.hostname == other.hostname
                and self.node_uuid == other.node_uuid)


class InvalidHost6(ValueError):
    """A field of an IPv6 reservation is invalid; the message names it."""


def ipv6(value: Any, field: str) -> bytes:
    """An IPv6 address as 16 bytes.

    :raises InvalidHost6: not an IPv6 address.
    """
    try:
        return socket.inet_pton(socket.AF_INET6, value)
    except (OSError, TypeError):
        raise InvalidHost6('%s: %r is not an IPv6 address' % (field, value))


def is_ipv6(value: Any) -> bool:
    """True for the text of an IPv6 address."""
    return isinstance(value, str) and ':' in value


def network6(prefixlen: Any, ip: bytes, dns: Any, domain: str | None,
             lease: int, interner: Interner, ntp: Any = ()) -> Network6:
    """The interned :class:`Network6` of ``ip`` with these parameters.

    :param dns: DNS server addresses; the IPv4 ones are left out (a
        dual-stack file's defaults may list both families).
    :param ntp: NTP server addresses (option 56); IPv4 ones left out.
    """
    if isinstance(prefixlen, bool) or not isinstance(prefixlen, int) \
            or not 1 <= prefixlen <= 128:
        raise InvalidHost6('prefix6: %r is not an integer in 1..128'
                           % (prefixlen,))
    if isinstance(dns, str):
        dns = [d.strip() for d in dns.split(',') if d.strip()]
    servers = tuple(ipv6(d, 'dns_servers') for d in dns or () if is_ipv6(d))
    if isinstance(ntp, str):
        ntp = [n.strip() for n in ntp.split(',') if n.strip()]
    ntp_servers = tuple(ipv6(n, 'ntp_servers') for n in ntp or ()
                        if is_ipv6(n))
    net = Network6(prefixlen, int.from_bytes(ip, 'big'), servers, domain,
                   lease, ntp_servers)
    # The interner keys any object by its key(): Network6 has one too.
    shared: Any = interner.network(cast(Any, net))
    return shared


def boot6(profile_boot: BootConfig, defaults: dict[str, str | None],
          interner: Interner) -> BootConfig:
    """The boot settings of an IPv6 host.

    :param profile_boot: the host's own settings (its boot profile or file
        fields over nothing): a URL that names an IPv4 literal cannot be
        reached by an IPv6-only client and is replaced by the agent's IPv6
        default; a boot file name is kept (it is fetched from the IPv6
        TFTP server).
    :param defaults: the agent's IPv6 boot defaults
        (:func:`vmetal_ironic.agent.dhcp6.netboot.defaults`).
    """
    def pick(field):
        own = getattr(profile_boot, field)
        if own and not _names_ipv4(own):
            return own
        return defaults.get(field)

    tftp = profile_boot.tftp_server
    return interner.boot(BootConfig(
        bios_bootfile=defaults.get('bios_bootfile'),
        uefi_bootfile=defaults.get('uefi_bootfile'),
        arm64_bootfile=defaults.get('arm64_bootfile'),
        ipxe_script_url=pick('ipxe_script_url'),
        http_boot_url=pick('http_boot_url'),
        tftp_server=tftp if is_ipv6(tftp) else defaults.get('tftp_server'),
        pxe_bootfile=profile_boot.pxe_bootfile))


def _names_ipv4(url: str) -> bool:
    host = url.split('://', 1)[-1].split('/', 1)[0].rsplit(':', 1)[0]
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


def from_pool(res: Any, pool: Any, profile: Any, default_lease: int,
              defaults: dict[str, str | None], interner: Interner,
              mac: bytes, duid: bytes | None, hostname: str | None,
              node_uuid: str | None, source: str) -> Host6:
    """The :class:`Host6` of an IPAM reservation in an IPv6 pool.

    :param profile: the node's :class:`~vmetal_ironic.boot_profile.
        BootProfile`; its DHCPv6 fields (Ironic's ``tag:ipxe6,59`` and
        ``tag:!ipxe6,59``) win over its DHCPv4 ones.
    :raises InvalidHost6: a field of the record is invalid.
    """
    ip = ipv6(res.address, 'ip')
    net = network6(pool.prefixlen, ip, pool.dns_servers, pool.domain,
                   default_lease, interner, pool.ntp_servers)
    own = BootConfig(
        ipxe_script_url=profile.ipxe6_url or profile.ipxe_script_url,
        http_boot_url=profile.http_boot_url,
        tftp_server=profile.tftp_server,
        pxe_bootfile=profile.bootfile6_url or profile.bootfile)
    return Host6(mac, ip, net, boot6(own, defaults, interner), duid=duid,
                 hostname=hostname, node_uuid=node_uuid, source=source)


def from_spec(spec: dict[str, Any], default_lease: int,
              defaults: dict[str, str | None], interner: Interner,
              mac: bytes, duid: bytes | None, hostname: str | None,
              node_uuid: str | None, source: str) -> Host6:
    """The :class:`Host6` of a reservations-file entry with an IPv6 ``ip``.

    Uses ``prefix6`` (default 64), the IPv6 addresses of ``dns_servers``,
    ``domain``, ``lease_time`` and the boot fields; IPv4-only fields
    (``prefix``, ``netmask``, ``gateway``, ``routes``, ``mtu``) do not
    apply (the router advertises them).
    """
    ip = ipv6(spec.get('ip'), 'ip')
    lease = spec.get('lease_time')
    if lease is None:
        lease = default_lease
    elif isinstance(lease, bool) or not isinstance(lease, int) \
            or not 10 <= lease <= 0xfffffffe:
        raise InvalidHost6('lease_time: %r is not an integer in 10..%d'
                           % (lease, 0xfffffffe))
    domain = spec.get('domain')
    if domain is not None and not isinstance(domain, str):
        raise InvalidHost6('domain: %r is not a string' % (domain,))
    net = network6(spec.get('prefix6', DEFAULT_PREFIX), ip,
                   spec.get('dns_servers'), domain or None, lease, interner,
                   spec.get('ntp_servers'))
    own = BootConfig(ipxe_script_url=spec.get('ipxe_script_url'),
                     http_boot_url=spec.get('http_boot_url'),
                     tftp_server=spec.get('tftp_server'),
                     pxe_bootfile=spec.get('bootfile'))
    return Host6(mac, ip, net, boot6(own, defaults, interner), duid=duid,
                 hostname=hostname, node_uuid=node_uuid, source=source)
