"""Discovery: a short lease and the inspection boot options for unknown MACs.

Off by default (an unknown MAC gets silence). With
``[dhcp_agent]discovery_enabled``, the server loop asks
:meth:`Discovery.host_for` about a MAC that has no reservation; the
answer is a :class:`~.sources.reservations.Host` leased from the
discovery range of the client's pool, which then runs through the same
handler chain as a reserved client (OFFER, ACK, NAK, relay checks).

What a client can make the agent do is bounded, in this order: the
per-MAC and the total rate (one :class:`~.ratelimit.Limiter` each), the
pool's cap (``discovery_max_leases``, counted in the database so all
agents share it; a cap reached is remembered for a second, so a flood of
new MACs costs no database write), then one short transaction of
:class:`~vmetal_ironic.ipam.discovery.DiscoveryLeases`. A database error
is silence (never a wrong answer) and opens a breaker for a few seconds.

A MAC that gets a reservation is answered from it at once (the server
loop finds it first); :meth:`seen_reserved` frees the lease this agent
gave it, and the periodic sweep frees leases of reserved MACs whichever
agent gave them, and expired ones.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

from oslo_log import log
import prometheus_client as prom

from vmetal_ironic.agent import component
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.ratelimit import Limiter
from vmetal_ironic.agent.ratelimit import RateLimitedLog
from vmetal_ironic.agent.sources.reservations import BootConfig
from vmetal_ironic.agent.sources.reservations import Host
from vmetal_ironic.agent.sources.reservations import Network
from vmetal_ironic import exception

LOG = log.getLogger(__name__)

#: Seconds without database writes after a database error.
BREAKER = 5.0
#: Seconds a pool that reached its cap is not asked for a new lease.
CAP_MEMO = 1.0

RATE = 'rate'
CAP = 'cap'
FULL = 'full'
RESERVED = 'reserved'
DATABASE = 'database'
NO_POOL = 'no_pool'
REFUSALS = (RATE, CAP, FULL, RESERVED, DATABASE, NO_POOL)

LEASES = prom.Gauge(
    'vmetal_discovery_leases', 'Discovery leases in use, by pool (all '
    'agents, as of the last sweep)', ['pool'], registry=metrics.REGISTRY)
GRANTED = prom.Counter(
    'vmetal_discovery_leases_granted', 'Discovery leases taken or renewed '
    'by this agent', registry=metrics.REGISTRY)
REFUSED = prom.Counter(
    'vmetal_discovery_refused', 'Requests of unknown MACs not given a '
    'discovery lease, by reason (rate, cap, full, reserved, database, '
    'no_pool)', ['reason'], registry=metrics.REGISTRY)
for _r in REFUSALS:
    REFUSED.labels(reason=_r)


class _Pool:
    """A discovery range ready for the wire."""

    __slots__ = ('rng', 'network', 'mask', 'net')

    def __init__(self, rng: Any, lease_time: int) -> None:
        self.rng = rng
        self.mask = (0xffffffff << (32 - rng.prefixlen)) & 0xffffffff
        self.network = rng.first & self.mask
        router = socket.inet_aton(rng.gateway) if rng.gateway else None
        self.net = Network(rng.prefixlen, router,
                           tuple(socket.inet_aton(d) for d in rng.dns_servers),
                           rng.domain, lease_time, rng.mtu, (),
                           network=self.network)

    def holds(self, addr: bytes) -> bool:
        return int.from_bytes(addr, 'big') & self.mask == self.network


class Discovery(component.Component):
    """Agent component: discovery leases for MACs without a reservation.

    :param store: a :class:`~vmetal_ironic.ipam.discovery.DiscoveryLeases`.
    :param server_id: the agent's provisioning address (4 bytes): the
        pool of a client that is not relayed holds it.
    :param boot: the discovery boot profile.
    :param lease_time: seconds of a discovery lease.
    :param cap: leases of one pool in use at once (all agents).
    :param mac_rate: requests answered per MAC per minute.
    :param total_rate: requests handled per second, all MACs.
    :param interval: seconds between two sweeps.
    """

    name = 'discovery'

    def __init__(self, store: Any, server_id: bytes, boot: BootConfig,
                 lease_time: int = 300, cap: int = 64, mac_rate: int = 20,
                 total_rate: int = 50, interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.server_id = server_id
        self.boot = boot
        self.lease_time = lease_time
        self.cap = cap
        self.interval = interval
        self.clock = clock
        self.per_mac = Limiter(burst=mac_rate, period=60.0, clock=clock)
        self.total = Limiter(burst=total_rate, period=1.0, clock=clock)
        self.pools: list[_Pool] = []
        #: MACs this agent leased to -> monotonic expiry (bounded by the
        #: leases the database granted; pruned by the sweep).
        self.leased: dict[bytes, float] = {}
        self._full_until: dict[int, float] = {}
        self._down_until = 0.0
        self._log = RateLimitedLog(burst=5, period=10.0, logger=lambda: LOG)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the server loop's side

    def pool_for(self, req: codec.Request) -> _Pool | None:
        """The pool of the client's segment (relay address or ours)."""
        where = req.giaddr if req.giaddr != codec.ZERO4 else self.server_id
        for p in self.pools:
            if p.holds(where):
                return p
        return None

    def host_for(self, req: codec.Request) -> Host | None:
        """A discovery lease for ``req``'s MAC as a Host, or None (silence).

        DISCOVER and REQUEST take or renew the lease; RELEASE frees it;
        anything else gets silence.
        """
        mtype = req.msg_type
        if len(req.chaddr) != 6:
            return None             # not an Ethernet MAC: no lease key
        if mtype == codec.RELEASE:
            if req.chaddr in self.leased:
                self._write(lambda: self.store.release(req.mac), req)
                self.leased.pop(req.chaddr, None)
            return None
        if mtype not in (codec.DISCOVER, codec.REQUEST):
            return None
        sid = req.options.get(codec.OPT_SERVER_ID)
        if sid is not None and sid != self.server_id:
            return None             # the client chose another server
        pool = self.pool_for(req)
        if pool is None:
            REFUSED.labels(reason=NO_POOL).inc()
            return None
        now = self.clock()
        if now < self._down_until:
            REFUSED.labels(reason=DATABASE).inc()
            return None
        if not self.per_mac.allow(req.chaddr)[0] \
                or not self.total.allow()[0]:
            REFUSED.labels(reason=RATE).inc()
            self._log.info('%s xid %#x from %s: discovery rate limit: '
                           'silence', codec.msg_name(mtype), req.xid,
                           req.mac, key=(req.chaddr, 'rate'))
            return None
        known = req.chaddr in self.leased
        if not known and now < self._full_until.get(pool.rng.pool_id, 0.0):
            REFUSED.labels(reason=CAP).inc()
            return None
        got = self._write(lambda: self.store.take(
            pool.rng, req.mac, self.lease_time, self.cap), req)
        if got is None:
            return None
        address, why = got
        if address is None:
            REFUSED.labels(reason=why).inc()
            if why in (CAP, FULL):
                self._full_until[pool.rng.pool_id] = now + CAP_MEMO
            self.leased.pop(req.chaddr, None)
            self._log.info('%s xid %#x from %s: no discovery lease in pool '
                           '%s (%s): silence', codec.msg_name(mtype),
                           req.xid, req.mac, pool.rng.pool, why,
                           key=(pool.rng.pool_id, why))
            return None
        GRANTED.inc()
        self.leased[req.chaddr] = now + self.lease_time
        if not known:
            LOG.info('Discovery lease %s of pool %s to %s (no reservation)',
                     address, pool.rng.pool, req.mac)
        return Host(req.chaddr, socket.inet_aton(address), pool.net, self.boot,
                    source='discovery')

    def seen_reserved(self, chaddr: bytes) -> None:
        """``chaddr`` has a reservation now: free its discovery lease."""
        if chaddr in self.leased:
            self.leased.pop(chaddr, None)
            mac = chaddr.hex(':')
            if self._write(lambda: self.store.release(mac), None):
                LOG.info('Discovery lease of %s released: it has a '
                         'reservation now', mac)

    def _write(self, fn: Callable[[], Any], req: codec.Request | None
               ) -> Any:
        """``fn()``, or None after a database error (breaker opened)."""
        try:
            return fn()
        except exception.VmetalError as e:
            self._down_until = self.clock() + BREAKER
            REFUSED.labels(reason=DATABASE).inc()
            self._log.warning('Discovery lease database error (%s): unknown '
                              'MACs get silence for %.0f s: %s',
                              req.mac if req is not None else '-', BREAKER,
                              e, key='database')
            return None

    # --- the sweep

    def sweep(self) -> None:
        """Reload the ranges, free expired and superseded leases, count."""
        try:
            self.pools = [_Pool(r, self.lease_time)
                          for r in self.store.ranges()]
            expired, superseded = self.store.expire()
            counts = self.store.in_use()
        except exception.VmetalError as e:
            self._log.warning('Discovery sweep failed: %s', e, key='sweep')
            return
        for pool, n in counts.items():
            LEASES.labels(pool=pool).set(n)
        now = self.clock()
        for mac, until in list(self.leased.items()):
            if until <= now:
                self.leased.pop(mac, None)
        if expired or superseded:
            LOG.info('Discovery sweep: %d expired, %d superseded by a '
                     'reservation; in use: %s', expired, superseded, counts)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sweep()
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Load the ranges, then sweep every ``interval`` seconds."""
        self._stop.clear()
        self.sweep()
        LOG.info('Discovery enabled: ranges %s, lease %d s, cap %d per pool',
                 ', '.join('%s of pool %s' % (p.rng.size, p.rng.pool)
                           for p in self.pools) or 'none (yet)',
                 self.lease_time, self.cap)
        self._thread = threading.Thread(target=self._run,
                                        name='discovery-sweep', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the sweep and close the database connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        close = getattr(self.store, 'close', None)
        if close is not None:
            close()

    def reload(self) -> None:
        """Re-read the ranges now."""
        self.sweep()


def boot_profile(conf: Any, defaults: dict[str, str | None]) -> BootConfig:
    """The discovery boot profile: ``discovery_*`` over the agent's."""
    g = conf.dhcp_agent
    return BootConfig(
        bios_bootfile=g.discovery_bios_bootfile or defaults['bios_bootfile'],
        uefi_bootfile=g.discovery_uefi_bootfile or defaults['uefi_bootfile'],
        arm64_bootfile=(g.discovery_arm64_bootfile
                        or defaults['arm64_bootfile']),
        ipxe_script_url=(g.discovery_ipxe_script_url
                         or defaults['ipxe_script_url']),
        http_boot_url=g.discovery_http_boot_url or defaults['http_boot_url'],
        tftp_server=defaults['tftp_server'])


def make(conf: Any, server_id: bytes,
         defaults: dict[str, str | None]) -> Discovery | None:
    """The discovery component of ``conf``, None when it is off."""
    g = conf.dhcp_agent
    if not g.discovery_enabled:
        return None
    from vmetal_ironic.ipam import discovery as store_mod
    return Discovery(store_mod.DiscoveryLeases(conf), server_id,
                     boot_profile(conf, defaults),
                     lease_time=g.discovery_lease_time,
                     cap=g.discovery_max_leases,
                     mac_rate=g.discovery_mac_rate,
                     total_rate=g.discovery_total_rate,
                     interval=g.discovery_expire_interval)
