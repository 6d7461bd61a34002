"""IPAM feed records -> host entries of the reservation table (pure).

:func:`make_host` compiles a reservation record straight into a
:class:`~vmetal_ironic.agent.sources.reservations.Host`: network parameters
(prefix, gateway, DNS, domain, MTU, routes) from the reservation's
:class:`~vmetal_ironic.ipam.records.Pool`, boot fields from the node's
:class:`~vmetal_ironic.boot_profile.BootProfile` (written by the Ironic
DHCP provider), which wins over the agent's defaults. No round trip
through the reservations file's string form. :class:`Compiler` keeps the
known pools and the interned shared parts.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log

from vmetal_ironic.agent.sources import hostspec
from vmetal_ironic.agent.sources.reservations import BootConfig
from vmetal_ironic.agent.sources.reservations import Host
from vmetal_ironic.agent.sources.reservations import Interner
from vmetal_ironic.agent.sources.reservations import Network
from vmetal_ironic import boot_profile
from vmetal_ironic.boot_profile import BootProfile
from vmetal_ironic.ipam import records

LOG = log.getLogger(__name__)

SOURCE = 'ipam'


def profile_of(res: Any) -> BootProfile:
    """The boot profile of a reservation record (the one place it is read).

    :param res: a :class:`~vmetal_ironic.ipam.records.Reservation`; since
        migration 0002 the store hands out typed profiles only.
    :raises boot_profile.InvalidBootProfile: it carries no
        :class:`BootProfile`.
    """
    value = res.boot_profile
    if not isinstance(value, BootProfile):
        raise boot_profile.InvalidBootProfile(
            'boot profile: %r is not a BootProfile' % (value,))
    return value


def record_of(host: Any, generation: int) -> records.Reservation:
    """The reservation record an IPAM host (IPv4 or IPv6) came from.

    What the snapshot stores: compiling it again gives the same host.
    ``generation`` is the snapshot's (records do not keep their own).
    """
    assert host.origin is not None, 'not an IPAM host'
    pool, profile = host.origin
    if type(host) is not Host:
        return records.Reservation(
            mac=host.mac.hex(':'), node_uuid=host.node_uuid, pool=pool,
            address=host.address, hostname=host.hostname,
            client_id=host.duid.hex(':') if host.duid else None,
            boot_profile=profile, generation=generation, ip_version=6)
    return records.Reservation(
        mac=host.mac.hex(':'), node_uuid=host.node_uuid, pool=pool,
        address=host.address, hostname=host.hostname,
        client_id=host.client_id.hex(':') if host.client_id else None,
        boot_profile=profile, generation=generation)


def pool_network(pool: Any, ip: bytes, default_lease: int,
                 interner: Interner) -> Network:
    """The shared :class:`Network` of ``ip`` in an IPv4 pool record.

    :raises hostspec.HostSpecError: a field of the record is invalid.
    """
    mtu = pool.mtu
    return hostspec.shared_network(
        hostspec.integer(pool.prefixlen, 'prefix', 1, 32),
        hostspec.ipv4(pool.gateway, 'gateway') if pool.gateway else None,
        tuple(hostspec.ipv4(d, 'dns_servers') for d in pool.dns_servers),
        hostspec.text(pool.domain, 'domain'), default_lease,
        None if mtu is None else hostspec.integer(mtu, 'mtu', 68, 65535),
        tuple(hostspec.route(r.destination, r.gateway)
              for r in pool.routes),
        ip, interner,
        tuple(hostspec.ipv4(n, 'ntp_servers') for n in pool.ntp_servers))


def profile_boot(profile: BootProfile, defaults: dict[str, str | None],
                 interner: Interner) -> BootConfig:
    """The shared :class:`BootConfig`: the profile over agent defaults.

    :raises hostspec.HostSpecError: the profile's TFTP server is not an
        IPv4 address.
    """
    return hostspec.boot_config(
        {'ipxe_script_url': profile.ipxe_script_url,
         'http_boot_url': profile.http_boot_url,
         'tftp_server': profile.tftp_server},
        profile.bootfile, defaults, interner, dhcp=profile.answers_dhcp)


def make_host(res: Any, pool: Any, profile: BootProfile,
              default_lease: int, boot_defaults: dict[str, str | None],
              interner: Interner, net: Network | None = None,
              boot: BootConfig | None = None) -> Host:
    """The :class:`Host` of a reservation record.

    :param res: the :class:`~vmetal_ironic.ipam.records.Reservation`.
    :param pool: its IPv4 :class:`~vmetal_ironic.ipam.records.Pool`.
    :param profile: the node's boot profile.
    :param net: the pool's Network of an earlier host, reused when it
        contains the address.
    :param boot: the BootConfig of ``profile``, when already compiled.
    :raises hostspec.HostSpecError: a field is invalid.
    """
    ip = hostspec.ipv4(res.address, 'ip')
    if net is None or not net.contains(ip):
        net = pool_network(pool, ip, default_lease, interner)
    if boot is None:
        boot = profile_boot(profile, boot_defaults, interner)
    return Host(hostspec.mac(res.mac), ip, net, boot,
                hostname=hostspec.hostname(res.hostname),
                client_id=hostspec.client_id(res.client_id),
                node_uuid=hostspec.text(res.node_uuid, 'node_uuid'),
                source=SOURCE)


class Compiler:
    """Turns reservation records into hosts, given the known pools.

    Hosts of one pool and one profile share compiled objects: a full
    snapshot compiles each pool's Network and each profile's BootConfig
    once.
    """

    def __init__(self, interner: Interner, default_lease: int,
                 boot_defaults: dict[str, str | None],
                 boot_defaults6: dict[str, str | None] | None = None) -> None:
        self.interner = interner
        self.default_lease = default_lease
        self.boot_defaults = boot_defaults
        self.boot_defaults6 = boot_defaults6 or {}
        self.pools: dict[str, Any] = {}
        self._nets: dict[str, Network] = {}
        self._boots: dict[BootProfile, BootConfig] = {}
        self._origins: dict[tuple[str, BootProfile],
                            tuple[str, BootProfile]] = {}

    def set_pool(self, pool: Any) -> bool:
        """Record a pool; True if it is new or changed."""
        if self.pools.get(pool.name) == pool:
            return False
        self.pools[pool.name] = pool
        self._nets.pop(pool.name, None)
        return True

    def _make(self, res: Any, pool: Any, profile: BootProfile) -> Host:
        host = make_host(res, pool, profile, self.default_lease,
                         self.boot_defaults, self.interner,
                         self._nets.get(pool.name), self._boots.get(profile))
        self._nets[pool.name] = host.net
        if len(self._boots) > 4096:
            self._boots.clear()
        self._boots[profile] = host.boot
        key = (pool.name, profile)
        if len(self._origins) > 4096:
            self._origins.clear()
        host.origin = self._origins.setdefault(key, key)
        return host

    def host(self, res: Any) -> Host | None:
        """The host for a live reservation, or None if it cannot serve."""
        pool = self.pools.get(res.pool)
        if pool is not None and pool.version == 6 and res.address:
            return self._host6(res, pool)
        if pool is None or pool.version != 4 or not res.address:
            LOG.debug('Reservation of %s (node %s) has no IPv4 pool/address '
                      '(pool %s): not served', res.mac, res.node_uuid,
                      res.pool)
            return None
        try:
            return self._make(res, pool, profile_of(res))
        except (hostspec.HostSpecError, boot_profile.InvalidBootProfile) as e:
            LOG.warning('Reservation of %s (node %s): %s; serving it '
                        'without its boot profile', res.mac, res.node_uuid,
                        e)
        try:
            return self._make(res, pool, boot_profile.EMPTY)
        except hostspec.HostSpecError as e:
            LOG.error('Reservation of %s (node %s) is not served: %s',
                      res.mac, res.node_uuid, e)
            return None

    def _host6(self, res: Any, pool: Any) -> Any:
        """The IPv6 host of a reservation in an IPv6 pool, or None."""
        from vmetal_ironic.agent.dhcp6 import hosts as hosts6
        try:
            profile = profile_of(res)
        except boot_profile.InvalidBootProfile as e:
            LOG.warning('Reservation of %s (node %s): %s; serving it '
                        'without its boot profile', res.mac, res.node_uuid,
                        e)
            profile = boot_profile.EMPTY
        try:
            host = hosts6.from_pool(
                res, pool, profile, self.default_lease, self.boot_defaults6,
                self.interner, hostspec.mac(res.mac),
                hostspec.client_id(res.client_id),
                hostspec.hostname(res.hostname),
                hostspec.text(res.node_uuid, 'node_uuid'), SOURCE)
        except (hosts6.InvalidHost6, hostspec.HostSpecError) as e:
            LOG.error('Reservation of %s (node %s) is not served: %s',
                      res.mac, res.node_uuid, e)
            return None
        key = (pool.name, profile)
        if len(self._origins) > 4096:
            self._origins.clear()
        host.origin = self._origins.setdefault(key, key)
        return host
