"""Discovery leases in the server loop (a fake store, no database).

The pure rules: which requests may reach the store (rate per MAC and in
total, the cap memo, the breaker after a database error), what the
answer carries (the leased address, the short lease, the discovery boot
profile) and what happens once the MAC has a reservation.
"""

import socket

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent import discovery
from vmetal_ironic.agent.sources.reservations import BootConfig
from vmetal_ironic import exception
from vmetal_ironic.ipam import sql_discovery

UNKNOWN = '02:00:00:00:00:07'
PXE = [('vendor_class_id', b'PXEClient:Arch:00000:UNDI:002001'),
       ('param_req_list', [1, 3, 6, 51, 54, 66, 67])]
IPXE = [('user_class', b'iPXE'), ('param_req_list', [1, 3, 6, 51, 67])]


def rng(pool_id=1, name='prov', first='172.22.0.200', last='172.22.0.203',
        cidr='172.22.0.0/24'):
    net = cidr.split('/')
    return sql_discovery.Range(
        pool_id=pool_id, pool=name,
        first=int.from_bytes(socket.inet_aton(first), 'big'),
        last=int.from_bytes(socket.inet_aton(last), 'big'),
        cidr=cidr, prefixlen=int(net[1]), gateway='172.22.0.1',
        dns_servers=('172.22.0.53',), domain=None, mtu=None)


class FakeStore:
    """Leases in a dict, like sql_discovery.take, plus failure switches."""

    def __init__(self, ranges):
        self._ranges = ranges
        self.leases = {}
        self.reserved = set()
        self.calls = []
        self.fail = False

    def ranges(self):
        return self._ranges

    def take(self, r, mac, lease_time, cap):
        self.calls.append(('take', mac))
        if self.fail:
            raise exception.StoreError(reason='connection refused')
        if mac in self.reserved:
            return None, sql_discovery.RESERVED
        if mac in self.leases:
            return self.leases[mac], None
        if len(self.leases) >= cap:
            return None, sql_discovery.CAP
        used = set(self.leases.values())
        for i in range(r.size):
            a = r.address(i)
            if a not in used:
                self.leases[mac] = a
                return a, None
        return None, sql_discovery.FULL

    def release(self, mac):
        self.calls.append(('release', mac))
        return self.leases.pop(mac, None) is not None

    def expire(self):
        return 0, 0

    def in_use(self):
        return {'prov': len(self.leases)}


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


BOOT = BootConfig(bios_bootfile='undionly.kpxe', uefi_bootfile='snponly.efi',
                  ipxe_script_url='http://172.22.0.2:8080/inspector.ipxe',
                  tftp_server=helpers.SERVER)


@pytest.fixture
def bed():
    store = FakeStore([rng()])
    clock = Clock()
    d = discovery.Discovery(store, socket.inet_aton(helpers.SERVER), BOOT,
                            lease_time=120, cap=3, mac_rate=6,
                            total_rate=100, clock=clock)
    d.sweep()
    srv = helpers.make_server()
    srv.discovery = d
    return srv, d, store, clock


def dora(srv, mac, options=PXE, requested=None):
    offer = srv.handle(helpers.request(mac=mac, options=options))
    if offer is None:
        return None, None
    b, _ = helpers.decode(offer.payload)
    ack = srv.handle(helpers.request(
        mac=mac, msg='request', options=list(options) + [
            ('server_id', helpers.SERVER),
            ('requested_addr', requested or b.yiaddr)]))
    return offer, ack


def test_unknown_mac_gets_a_short_discovery_lease_and_boot_profile(bed):
    srv, d, store, _ = bed
    offer, ack = dora(srv, UNKNOWN)
    b, opts = helpers.decode(offer.payload)
    assert b.yiaddr == '172.22.0.200'
    assert opts['lease_time'] == 120
    assert opts['router'] == '172.22.0.1'
    assert opts['boot-file-name'] == b'undionly.kpxe'
    assert ack.msg_type == codec.ACK
    assert helpers.decode(ack.payload)[0].yiaddr == '172.22.0.200'
    # iPXE gets the discovery script
    offer, _ = dora(srv, UNKNOWN, IPXE)
    assert helpers.decode(offer.payload)[1]['boot-file-name'] == \
        b'http://172.22.0.2:8080/inspector.ipxe'
    assert store.leases == {UNKNOWN: '172.22.0.200'}


def test_reserved_clients_never_reach_the_store(bed):
    srv, _, store, _ = bed
    offer, ack = dora(srv, helpers.MAC1)
    assert helpers.decode(ack.payload)[0].yiaddr == helpers.IP1
    assert store.calls == []


def test_cap_then_memo_spares_the_store(bed):
    srv, _, store, clock = bed
    macs = ['02:00:00:00:01:%02x' % i for i in range(10)]
    answered = [srv.handle(helpers.request(mac=m)) for m in macs]
    assert sum(a is not None for a in answered) == 3
    # the 4th got CAP; the 5th..10th did not ask the store
    assert len(store.calls) == 4
    # a holder still renews at the cap
    assert srv.handle(helpers.request(mac=macs[0])) is not None
    clock.t += discovery.CAP_MEMO
    assert srv.handle(helpers.request(mac=macs[5])) is None
    assert store.calls[-1] == ('take', macs[5])


def test_rate_per_mac_and_total(bed):
    srv, d, store, clock = bed
    for _ in range(10):
        srv.handle(helpers.request(mac=UNKNOWN))
    assert len(store.calls) == 6              # mac_rate 6 per minute
    clock.t += 60
    assert srv.handle(helpers.request(mac=UNKNOWN)) is not None
    d.total.burst = 2
    clock.t += 60
    store.calls.clear()
    for i in range(5):
        srv.handle(helpers.request(mac='02:00:00:00:02:%02x' % i))
    assert len(store.calls) == 2


def test_database_error_is_silence_and_opens_the_breaker(bed):
    srv, _, store, clock = bed
    store.fail = True
    assert srv.handle(helpers.request(mac=UNKNOWN)) is None
    assert srv.handle(helpers.request(mac=UNKNOWN)) is None
    assert len(store.calls) == 1              # breaker: no second try
    store.fail = False
    clock.t += discovery.BREAKER
    assert srv.handle(helpers.request(mac=UNKNOWN)) is not None


def test_reservation_wins_at_the_next_exchange(bed):
    srv, d, store, _ = bed
    dora(srv, UNKNOWN)
    assert store.leases == {UNKNOWN: '172.22.0.200'}
    # Ironic enrolled it; the feed brought its reservation
    tbl = helpers.table([{'mac': helpers.MAC1, 'ip': helpers.IP1},
                         {'mac': UNKNOWN, 'ip': '172.22.0.60'}])
    srv.table = tbl
    # RENEW / INIT-REBOOT of the old discovery address: NAK
    nak = srv.handle(helpers.request(
        mac=UNKNOWN, msg='request',
        options=[('requested_addr', '172.22.0.200')]))
    assert nak.msg_type == codec.NAK
    assert store.leases == {}                 # the lease row is freed
    assert ('release', UNKNOWN) in store.calls
    offer, ack = dora(srv, UNKNOWN)
    assert helpers.decode(ack.payload)[0].yiaddr == '172.22.0.60'
    assert helpers.decode(ack.payload)[1]['lease_time'] != 120


def test_store_refuses_a_reserved_mac(bed):
    srv, _, store, _ = bed
    store.reserved.add(UNKNOWN)       # reserved in the database, not yet
    assert srv.handle(helpers.request(mac=UNKNOWN)) is None   # in the table


def test_other_server_release_and_odd_packets(bed):
    srv, d, store, _ = bed
    dora(srv, UNKNOWN)
    # a REQUEST for another server's offer: silence, no store call
    n = len(store.calls)
    assert srv.handle(helpers.request(
        mac=UNKNOWN, msg='request', options=[
            ('server_id', '172.22.0.9'),
            ('requested_addr', '172.22.0.77')])) is None
    assert len(store.calls) == n
    assert srv.handle(helpers.request(
        mac=UNKNOWN, msg='release', ciaddr='172.22.0.200')) is None
    assert store.leases == {}
    assert srv.handle(helpers.request(
        mac='02:00:00:00:00:08', msg='inform',
        ciaddr='172.22.0.201')) is None


def test_no_pool_for_the_segment():
    store = FakeStore([rng(cidr='10.5.0.0/24', first='10.5.0.200',
                           last='10.5.0.210')])
    d = discovery.Discovery(store, socket.inet_aton(helpers.SERVER), BOOT)
    d.sweep()
    srv = helpers.make_server()
    srv.discovery = d
    assert srv.handle(helpers.request(mac=UNKNOWN)) is None
    assert store.calls == []
    # relayed from that segment: served
    offer = srv.handle(helpers.request(mac=UNKNOWN, giaddr='10.5.0.1'))
    assert helpers.decode(offer.payload)[0].yiaddr == '10.5.0.200'


def test_discovery_needs_the_ipam_source_and_is_off_by_default(agent_conf):
    from vmetal_ironic.agent import service
    assert discovery.make(agent_conf, b'\x7f\0\0\1',
                          helpers.BOOT_DEFAULTS) is None
    agent_conf.set_override('discovery_enabled', True, group='dhcp_agent')
    agent_conf.set_override('sources', ['file'], group='dhcp_agent')
    agent_conf.set_override('reservations_file', '/dev/null',
                            group='dhcp_agent')
    with pytest.raises(exception.ConfigError, match='discovery_enabled'):
        service.validate(agent_conf)
    agent_conf.set_override('sources', ['ipam'], group='dhcp_agent')
    assert service.validate(agent_conf) == ['ipam']
    agent_conf.set_override('discovery_ipxe_script_url',
                            'http://127.0.0.1:8080/inspector.ipxe',
                            group='dhcp_agent')
    d = discovery.make(agent_conf, b'\x7f\0\0\1', helpers.BOOT_DEFAULTS)
    assert d.cap == 64 and d.lease_time == 300
    assert d.boot.ipxe_script_url == 'http://127.0.0.1:8080/inspector.ipxe'
    assert d.boot.uefi_bootfile == 'snponly.efi'
