"""Protocol behaviour through DHCPServer.handle (no sockets)."""

import random
import socket
from unittest import mock

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import handlers
from vmetal_ironic.agent.dhcp import reply as reply_mod
from vmetal_ironic.agent.dhcp import server

PXE = [('vendor_class_id', b'PXEClient:Arch:00000:UNDI:002001'),
       ('param_req_list', [1, 3, 6, 12, 15, 43, 60, 66, 67])]


@pytest.fixture
def srv():
    return helpers.make_server()


def test_discover_offer(srv):
    reply = srv.handle(helpers.request(
        options=[('param_req_list', [1, 3, 6, 12, 15, 51])]))
    assert reply.msg_type == codec.OFFER
    assert reply.kind == reply_mod.TO_L2
    assert socket.inet_ntoa(reply.addr) == helpers.IP1
    b, opts = helpers.decode(reply.payload)
    assert b.yiaddr == helpers.IP1
    assert opts['server_id'] == helpers.SERVER
    assert opts['subnet_mask'] == '255.255.255.0'
    assert opts['router'] == '172.22.0.1'
    assert opts['name_server'] == '172.22.0.53'
    assert opts['hostname'] == b'node-1'
    assert opts['domain'] == b'prov.example'
    assert opts['lease_time'] == 1800
    assert opts['renewal_time'] == 900 and opts['rebinding_time'] == 1575
    # not network booting: no boot options
    assert 'boot-file-name' not in opts and 'tftp_server_name' not in opts
    assert b.siaddr == '0.0.0.0' and b.file.strip(b'\0') == b''


def test_unknown_mac_silence(srv):
    assert srv.handle(helpers.request(mac=helpers.MAC2)) is None
    assert srv.stats['unknown'] == 1


def test_client_id_alternative_key():
    tbl = helpers.table([{'mac': helpers.MAC1, 'ip': helpers.IP1,
                          'client_id': 'ff:00:11:22:33'}])
    srv = helpers.make_server(tbl)
    reply = srv.handle(helpers.request(
        mac=helpers.MAC2, options=[('client_id', b'\xff\x00\x11\x22\x33')]))
    assert helpers.decode(reply.payload)[0].yiaddr == helpers.IP1


def test_pxe_discover_gets_boot_options(srv):
    reply = srv.handle(helpers.request(options=PXE))
    b, opts = helpers.decode(reply.payload)
    assert opts['boot-file-name'] == b'undionly.kpxe'
    assert opts['vendor_class_id'] == b'PXEClient'
    assert opts['tftp_server_name'] == helpers.SERVER.encode()
    assert b.siaddr == helpers.SERVER
    assert b.file.rstrip(b'\0') == b'undionly.kpxe'


def test_all_clients_mode_gives_boot_file():
    srv = helpers.make_server(all_clients=True)
    b, opts = helpers.decode(srv.handle(helpers.request()).payload)
    assert opts['boot-file-name'] == b'undionly.kpxe'
    assert 'vendor_class_id' not in opts


@pytest.mark.parametrize('extra,state', [
    ([('server_id', helpers.SERVER), ('requested_addr', helpers.IP1)],
     'selecting'),
    ([('requested_addr', helpers.IP1)], 'init-reboot'),
])
def test_request_ack(srv, extra, state):
    reply = srv.handle(helpers.request(msg='request', options=extra))
    assert reply.msg_type == codec.ACK, state
    assert helpers.decode(reply.payload)[0].yiaddr == helpers.IP1


def test_renewing_unicast_to_ciaddr(srv):
    reply = srv.handle(helpers.request(msg='request', ciaddr=helpers.IP1))
    assert reply.msg_type == codec.ACK
    assert reply.kind == reply_mod.TO_CLIENT
    b = helpers.decode(reply.payload)[0]
    assert b.ciaddr == helpers.IP1 and b.yiaddr == helpers.IP1


def test_request_wrong_address_nak_broadcast(srv):
    reply = srv.handle(helpers.request(
        msg='request', options=[('requested_addr', '172.22.0.99')]))
    assert reply.msg_type == codec.NAK
    assert reply.kind == reply_mod.TO_BROADCAST
    b, opts = helpers.decode(reply.payload)
    assert b.yiaddr == '0.0.0.0' and opts['server_id'] == helpers.SERVER
    reply = srv.handle(helpers.request(msg='request', ciaddr='172.22.0.99'))
    assert reply.msg_type == codec.NAK


def test_request_other_server_ignored(srv):
    assert srv.handle(helpers.request(
        msg='request', options=[('server_id', '172.22.0.9'),
                                ('requested_addr', helpers.IP1)])) is None


def test_request_without_address_dropped(srv):
    assert srv.handle(helpers.request(msg='request')) is None


def test_inform(srv):
    reply = srv.handle(helpers.request(msg='inform', ciaddr=helpers.IP1))
    b, opts = helpers.decode(reply.payload)
    assert reply.msg_type == codec.ACK and reply.kind == reply_mod.TO_CLIENT
    assert b.yiaddr == '0.0.0.0' and 'lease_time' not in opts
    assert opts['router'] == '172.22.0.1'
    assert srv.handle(helpers.request(msg='inform')) is None


@pytest.mark.parametrize('msg', ['decline', 'release'])
def test_decline_release_silent_and_logged(srv, msg):
    with mock.patch.object(handlers, 'LOG', autospec=True) as log:
        assert srv.handle(helpers.request(
            msg=msg, ciaddr=helpers.IP1,
            options=[('requested_addr', helpers.IP1)])) is None
    assert log.warning.called or log.info.called
    assert helpers.MAC1 in str(log.mock_calls)


def test_relay_answered_to_giaddr_with_option_82(srv):
    o82 = b'\x01\x04port\x02\x03sw1'
    reply = srv.handle(helpers.request(
        giaddr='172.22.0.1', options=[('relay_agent_information', o82)]))
    assert reply.kind == reply_mod.TO_RELAY
    assert reply.addr == socket.inet_aton('172.22.0.1')
    assert reply.payload.endswith(b'\x52' + bytes([len(o82)]) + o82 + b'\xff')
    b = helpers.decode(reply.payload)[0]
    assert b.giaddr == '172.22.0.1'


def test_relay_from_other_subnet_ignored(srv):
    assert srv.handle(helpers.request(giaddr='10.9.9.9')) is None


def test_broadcast_flag(srv):
    reply = srv.handle(helpers.request(flags=0x8000))
    assert reply.kind == reply_mod.TO_BROADCAST
    assert reply.addr == b'\xff\xff\xff\xff'


def test_max_message_size_drops_optional_options():
    tbl = helpers.table([{'mac': helpers.MAC1, 'ip': helpers.IP1,
                          'hostname': 'h' * 60,
                          'dns_servers': ['10.0.0.%d' % i
                                          for i in range(1, 60)],
                          'domain': 'd' * 200}])
    srv = helpers.make_server(tbl)
    reply = srv.handle(helpers.request(options=[('max_dhcp_size', 576)]))
    assert len(reply.payload) <= 548
    b, opts = helpers.decode(reply.payload)
    assert opts['server_id'] == helpers.SERVER and 'lease_time' in opts
    big = srv.handle(helpers.request(options=[('max_dhcp_size', 1500)]))
    assert len(big.payload) > 548


def test_max_message_size_keeps_hostname_out_unless_requested():
    tbl = helpers.table([{'mac': helpers.MAC1, 'ip': helpers.IP1,
                          'hostname': 'h' * 60,
                          'dns_servers': ['10.0.0.%d' % i
                                          for i in range(1, 60)],
                          'domain': 'd' * 200}])
    srv = helpers.make_server(tbl)
    reply = srv.handle(helpers.request(options=[
        ('max_dhcp_size', 576), ('param_req_list', [1, 3, 6, 15])]))
    assert len(reply.payload) <= 548
    b, opts = helpers.decode(reply.payload)
    assert 'hostname' not in opts


def test_classless_routes_and_mtu_when_requested():
    tbl = helpers.table([{'mac': helpers.MAC1, 'ip': helpers.IP1, 'mtu': 9000,
                          'routes': [{'destination': '10.0.0.0/8',
                                      'gateway': '172.22.0.254'}]}])
    srv = helpers.make_server(tbl)
    reply = srv.handle(helpers.request(
        options=[('param_req_list', [1, 3, 26, 121])]))
    assert b'\x1a\x02\x23\x28' in reply.payload
    assert b'\x79\x0b\x08\x0a\xac\x16\x00\xfe\x00\xac\x16\x00\x01' \
        in reply.payload


def test_malformed_and_random_input_never_raises(srv):
    good = helpers.request(options=PXE)
    rnd = random.Random(4)
    for n in range(len(good)):
        assert srv.handle(good[:n]) is None or n >= 240
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rnd.randint(1, 8)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        reply = srv.handle(bytes(data))
        if reply is not None:
            # whatever we answer goes to the reserved MAC with its address
            b = helpers.decode(reply.payload)[0]
            assert b.yiaddr in (helpers.IP1, '0.0.0.0')
    for _ in range(500):
        srv.handle(bytes(rnd.randrange(256) for _ in
                         range(rnd.randrange(600))))
    assert srv.stats['malformed'] > 0


def test_serve_forever_survives_handler_errors():
    srv = helpers.make_server()
    data = helpers.request()
    sent = []

    class FakeTransport:
        n = 0

        def recv(self):
            self.n += 1
            if self.n > 3:
                srv._stopping = True
                return b'', None
            return data, ('0.0.0.0', 68)

        def send(self, reply):
            sent.append(reply)
            if len(sent) == 1:
                raise OSError('boom')

    srv.transport = FakeTransport()
    srv.serve_forever()
    assert len(sent) == 3
    assert srv.stats['errors'] == 1 and srv.stats['replied'] == 2


def test_rate_limited_log():
    rl = server.RateLimitedLog(burst=2, period=100)
    with mock.patch.object(server, 'LOG', autospec=True) as log:
        for _ in range(5):
            rl.warning('x %s', 1)
    assert log.warning.call_count == 2


def test_dhcp_off_host_silence():
    # A reserved node whose boot profile says dhcp=off (virtual media):
    # silence, counted apart from unknown clients.
    from vmetal_ironic.agent.sources import ipam_hosts
    from vmetal_ironic.boot_profile import BootProfile
    from vmetal_ironic.ipam import records
    tbl = helpers.table([])
    pool = records.Pool(name='prov', version=4, cidr='172.22.0.0/24',
                        prefixlen=24, netmask='255.255.255.0',
                        gateway='172.22.0.1')
    res = records.Reservation(mac=helpers.MAC1, node_uuid='n-1', pool='prov',
                              address=helpers.IP1)
    host = ipam_hosts.make_host(res, pool, BootProfile(dhcp='off'), 600,
                                helpers.BOOT_DEFAULTS, tbl.interner)
    assert not host.boot.dhcp
    tbl.replace('ipam', [host])
    srv = helpers.make_server(tbl)
    for msg in ('discover', 'request', 'inform'):
        assert srv.handle(helpers.request(msg=msg)) is None
    assert srv.stats['dhcp_off'] == 3 and srv.stats['unknown'] == 0
    # the same reservation with DHCP on is answered
    on = ipam_hosts.make_host(res, pool, BootProfile(), 600,
                              helpers.BOOT_DEFAULTS, tbl.interner)
    tbl.replace('ipam', [on])
    assert srv.handle(helpers.request()).msg_type == codec.OFFER
