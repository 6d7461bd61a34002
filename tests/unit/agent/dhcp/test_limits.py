"""Hostile-input limits of the DHCP pipeline: reply size, RFC 2131/3046
screening, and rate limits of what a client can make the agent do."""

import random
import socket
from unittest import mock

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import handlers
from vmetal_ironic.agent.dhcp import netboot
from vmetal_ironic.agent.dhcp import reply as reply_mod
from vmetal_ironic.agent.dhcp import server
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import ratelimit

MANDATORY = ('message-type', 'server_id', 'lease_time', 'renewal_time',
             'rebinding_time', 'subnet_mask', 'router')


def _dropped(reason):
    return metrics.REGISTRY.get_sample_value(
        'vmetal_dhcp4_packets_dropped_total', {'reason': reason})


def make(hosts, max_payload=1472):
    ctx = handlers.Context(socket.inet_aton(helpers.SERVER),
                           netboot.Decider(helpers.SERVER),
                           max_payload=max_payload)
    return server.DHCPServer(helpers.table(hosts),
                             handlers.Chain.default(ctx), None)


def raw(extra, giaddr='0.0.0.0', msg='discover'):
    """A request built by scapy with ``extra`` option bytes before END."""
    data = helpers.request(msg=msg, giaddr=giaddr)
    return data[:data.rindex(b'\xff')] + extra + b'\xff'


def relayed(o82, options=()):
    extra = b''.join(codec.opt(c, v) for c, v in options)
    return raw(extra + codec.opt(82, o82), giaddr='172.22.0.1')


def o82_of(payload):
    """Option 82 of a reply, its parts joined (RFC 3396).

    scapy keeps only the last part.
    """
    i, out = 240, b''
    while payload[i] != 255:
        if payload[i] == 0:
            i += 1
            continue
        code, n = payload[i], payload[i + 1]
        if code == 82:
            out += payload[i + 2:i + 2 + n]
        i += 2 + n
    return out or None


LONG_NAME = 'n' * 250


def test_long_hostname_and_option_82_keep_mandatory_options():
    srv = make([{'mac': helpers.MAC1, 'ip': helpers.IP1,
                 'hostname': LONG_NAME}])
    o82 = b'\x01\x12' + b'c' * 18 + b'\x02\x12' + b'r' * 18   # 40 bytes
    reply = srv.handle(relayed(o82))
    assert len(reply.payload) <= 548
    b, opts = helpers.decode(reply.payload)
    for name in MANDATORY:
        assert name in opts, name
    assert opts['relay_agent_information'] == o82
    assert reply.payload.endswith(bytes((82, len(o82))) + o82 + b'\xff')
    # the hostname was cut to the room left, not dropped whole
    assert 0 < len(opts['hostname']) < 250
    assert LONG_NAME.encode().startswith(opts['hostname'])


def test_two_long_option_82_parts_drop_the_request_without_option_57():
    srv = make([{'mac': helpers.MAC1, 'ip': helpers.IP1,
                 'hostname': LONG_NAME}])
    o82 = b'\x01\xf8' + b'c' * 248 + b'\x02\xf8' + b'r' * 248  # 500 bytes
    with mock.patch.object(handlers, 'LOG', autospec=True) as log:
        assert srv.handle(relayed(o82)) is None
    assert 'relay information' in str(log.mock_calls)
    # a client that accepts 1500 bytes gets everything, 82 echoed whole
    big = srv.handle(relayed(o82, options=[(57, b'\x05\xdc')]))
    assert 548 < len(big.payload) <= 1472
    assert o82_of(big.payload) == o82


def test_replies_never_exceed_the_interface_mtu():
    srv = make([{'mac': helpers.MAC1, 'ip': helpers.IP1,
                 'hostname': LONG_NAME,
                 'dns_servers': ['10.0.0.%d' % i for i in range(1, 60)],
                 'domain': 'd' * 200}], max_payload=600)
    reply = srv.handle(helpers.request(options=[('max_dhcp_size', 9000)]))
    assert len(reply.payload) <= 600
    opts = helpers.decode(reply.payload)[1]
    for name in MANDATORY:
        assert name in opts


def test_fuzzed_sizes_always_within_the_client_maximum():
    rnd = random.Random(7)
    for _ in range(300):
        name = 'h' * rnd.randint(1, 255)
        srv = make([{'mac': helpers.MAC1, 'ip': helpers.IP1,
                     'hostname': name,
                     'dns_servers': ['10.0.0.%d' % i
                                     for i in range(1, rnd.randint(2, 60))]}])
        n = rnd.randint(1, 3)
        o82 = b''.join(bytes((k + 1, m)) + b'x' * m for k, m in
                       enumerate(rnd.randint(0, 120) for _ in range(n)))
        size = rnd.choice([None, 576, 700, 1000, 1500])
        opts = [(57, size.to_bytes(2, 'big'))] if size else []
        reply = srv.handle(relayed(o82, options=opts))
        limit = (size or 576) - 28
        if reply is None:
            # only when the mandatory options and 82 cannot fit
            assert 240 + 4 + 6 + 18 + 6 + 6 + 2 + len(o82) > limit - 6
            continue
        assert len(reply.payload) <= limit
        assert o82_of(reply.payload) == o82


def test_option_82_without_relay_is_silence(srv):
    assert srv.handle(helpers.request(options=[
        ('relay_agent_information', b'\x01\x04port')])) is None


def test_no_option_82_echo_in_a_nak_without_relay(srv):
    reply = srv.handle(helpers.request(
        msg='request', options=[('requested_addr', helpers.IP2)]))
    assert reply.msg_type == codec.NAK and b'\x52' not in reply.payload[240:]


@pytest.mark.parametrize('giaddr', [helpers.SERVER, '172.22.0.255',
                                    '172.22.0.0'])
def test_relay_address_that_cannot_be_a_relay_is_silence(srv, giaddr):
    assert srv.handle(helpers.request(giaddr=giaddr)) is None


@pytest.mark.parametrize('msg,extra', [
    ('inform', []),
    ('request', [])])
def test_no_unicast_to_a_ciaddr_outside_the_subnet(srv, msg, extra):
    # RENEWING from a made-up ciaddr: it would be the address of the ACK
    req = helpers.request(msg=msg, ciaddr='10.66.0.9', options=extra)
    reply = srv.handle(req)
    assert reply is None or reply.kind != reply_mod.TO_CLIENT


def test_ciaddr_inside_the_subnet_is_still_answered(srv):
    reply = srv.handle(helpers.request(msg='inform', ciaddr=helpers.IP1))
    assert reply.kind == reply_mod.TO_CLIENT


@pytest.fixture
def srv():
    return helpers.make_server()


def _no_end(data):
    end = data.rindex(b'\xff')
    return data[:end] + b'\0' * (len(data) - end)


def test_options_without_end_are_malformed(srv):
    good = helpers.request()
    assert srv.handle(good) is not None
    assert srv.handle(_no_end(good)) is None
    assert srv.stats['malformed'] == 1


def test_overloaded_file_field_without_end_is_malformed(srv):
    data = bytearray(raw(b'\x34\x01\x01'))
    # the file field (108..236) carries a hostname and no END
    data[108:236] = (b'\x0c\x03abc').ljust(128, b'\0')
    assert srv.handle(bytes(data)) is None
    data[113] = 0xff
    assert srv.handle(bytes(data)) is not None


def test_wrong_address_request_flood_gets_few_naks_and_few_lines(srv):
    req = helpers.request(msg='request',
                          options=[('requested_addr', helpers.IP2)])
    before = _dropped('rate_limited')
    with mock.patch.object(handlers, 'LOG', autospec=True) as log:
        naks = [srv.handle(req) for _ in range(5000)]
    sent = sum(r is not None for r in naks)
    assert 1 <= sent <= 3
    # every NAK held back by the limiter is a rate_limited drop
    assert _dropped('rate_limited') - before == 5000 - sent
    assert log.info.call_count <= 6
    assert srv.chain.ctx.log.suppressed >= 4990


def test_decline_flood_writes_few_lines(srv):
    req = helpers.request(msg='decline',
                          options=[('requested_addr', helpers.IP1)])
    with mock.patch.object(handlers, 'LOG', autospec=True) as log:
        for _ in range(5000):
            assert srv.handle(req) is None
    assert 1 <= log.warning.call_count <= 6


def test_send_errors_are_one_line_without_traceback():
    srv = helpers.make_server()
    data = helpers.request()

    class Transport:
        n = 0

        def recv(self):
            self.n += 1
            if self.n > 50:
                srv._stopping = True
                return b'', None
            return data, ('0.0.0.0', 68)

        def send(self, reply):
            raise OSError(90, 'Message too long')

    srv.transport = Transport()
    with mock.patch.object(server, 'LOG', autospec=True) as log:
        srv.serve_forever()
    assert not log.exception.called
    assert 1 <= log.warning.call_count <= 6
    assert srv.stats['errors'] == 50


def test_limiter_keys_stay_bounded_under_random_sources():
    now = [0.0]
    lim = ratelimit.Limiter(burst=1, period=10, max_keys=100,
                            clock=lambda: now[0])
    rnd = random.Random(1)
    for _ in range(10000):
        lim.allow(rnd.randbytes(6))
    assert len(lim) <= 101
    assert lim.suppressed > 9000


def test_limiter_reports_what_it_suppressed():
    now = [0.0]
    lim = ratelimit.Limiter(burst=2, period=1, clock=lambda: now[0])
    assert [lim.allow('a')[0] for _ in range(5)] == [True, True, False,
                                                     False, False]
    now[0] = 1.5
    assert lim.allow('a') == (True, 3)
