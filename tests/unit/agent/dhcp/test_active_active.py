"""Two agents on one segment (active-active), through DHCPServer.handle.

Both serve the same reservations with their own server identifier; RFC
2131 4.3.2 decides which one answers a REQUEST. See doc/active-active.md.
"""

import socket

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import handlers
from vmetal_ironic.agent.dhcp import netboot
from vmetal_ironic.agent.dhcp import reply as reply_mod
from vmetal_ironic.agent.dhcp import server

A, B = '172.22.0.2', '172.22.0.3'


def agent(sid, tbl):
    ctx = handlers.Context(socket.inet_aton(sid), netboot.Decider(sid))
    return server.DHCPServer(tbl, handlers.Chain.default(ctx), None)


@pytest.fixture
def pair():
    tbl = helpers.table()
    return {A: agent(A, tbl), B: agent(B, tbl)}


def answers(pair, data):
    """{server id: (message type, yiaddr, option 54, destination kind)}."""
    out = {}
    for sid, srv in pair.items():
        r = srv.handle(data)
        if r is not None:
            b, opts = helpers.decode(r.payload)
            out[sid] = (r.msg_type, b.yiaddr, opts.get('server_id'), r.kind)
    return out


def test_both_offer_the_reserved_address_each_with_its_own_id(pair):
    got = answers(pair, helpers.request())
    assert got == {A: (codec.OFFER, helpers.IP1, A, reply_mod.TO_L2),
                   B: (codec.OFFER, helpers.IP1, B, reply_mod.TO_L2)}


@pytest.mark.parametrize('chosen', [A, B])
def test_selecting_request_is_answered_by_the_named_server_only(pair,
                                                                chosen):
    got = answers(pair, helpers.request(msg='request', options=[
        ('server_id', chosen), ('requested_addr', helpers.IP1)]))
    assert got == {chosen: (codec.ACK, helpers.IP1, chosen,
                            reply_mod.TO_L2)}


def test_request_for_the_other_server_gets_silence_not_a_nak(pair):
    # A wrong address named to A: A NAKs, B says nothing (it was not asked)
    got = answers(pair, helpers.request(msg='request', options=[
        ('server_id', A), ('requested_addr', '172.22.0.99')]))
    assert list(got) == [A] and got[A][0] == codec.NAK


def test_request_for_a_third_server_gets_silence_from_both(pair):
    assert answers(pair, helpers.request(msg='request', options=[
        ('server_id', '172.22.0.9'),
        ('requested_addr', helpers.IP1)])) == {}


def test_renewing_is_answered_by_whichever_receives_it(pair):
    # RENEWING is unicast: only the agent it was sent to receives it, and
    # it answers by unicast to ciaddr with its own identifier.
    data = helpers.request(msg='request', ciaddr=helpers.IP1)
    for sid, srv in pair.items():
        r = srv.handle(data)
        b, opts = helpers.decode(r.payload)
        assert (r.msg_type, r.kind, socket.inet_ntoa(r.addr),
                opts['server_id']) == (codec.ACK, reply_mod.TO_CLIENT,
                                       helpers.IP1, sid)


@pytest.mark.parametrize('kwargs', [
    {'ciaddr': helpers.IP1, 'flags': 0x8000},                # REBINDING
    {'options': [('requested_addr', helpers.IP1)]},          # INIT-REBOOT
])
def test_rebinding_and_init_reboot_get_the_same_address_from_both(pair,
                                                                  kwargs):
    got = answers(pair, helpers.request(msg='request', **kwargs))
    assert {sid: v[:3] for sid, v in got.items()} == {
        A: (codec.ACK, helpers.IP1, A), B: (codec.ACK, helpers.IP1, B)}
