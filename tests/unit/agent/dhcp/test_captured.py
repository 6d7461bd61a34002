"""Packets captured from real clients (ISC dhclient 4.4.3, busybox 1.35
udhcpc) talking to the agent, kept as fixtures in packets/*.hex."""

import os

import pytest
from scapy.layers.dhcp import BOOTP
from scapy.layers.dhcp import DHCP

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.dhcp import codec

HERE = os.path.join(os.path.dirname(__file__), 'packets')
MACS = {'dhclient': '52:54:00:aa:00:01', 'udhcpc': '52:54:00:aa:00:02'}
IPS = {'dhclient': '172.22.0.51', 'udhcpc': '172.22.0.52'}
NAMES = sorted(f[:-4] for f in os.listdir(HERE) if f.endswith('.hex'))


def load(name):
    with open(os.path.join(HERE, name + '.hex')) as f:
        return bytes.fromhex(f.read().strip())


def test_fixtures_present():
    assert NAMES == ['dhclient-discover', 'dhclient-request',
                     'udhcpc-discover', 'udhcpc-request']


@pytest.mark.parametrize('name', NAMES)
def test_parse_matches_scapy(name):
    data = load(name)
    req = codec.parse(data)
    assert req.mac == MACS[name.split('-')[0]]
    assert req.msg_type == (codec.DISCOVER if name.endswith('discover')
                            else codec.REQUEST)
    scapy_opts = {}
    for o in BOOTP(data)[DHCP].options:
        if isinstance(o, tuple):
            scapy_opts[o[0]] = o[1:]
    assert req.options[codec.OPT_PRL] == bytes(
        scapy_opts['param_req_list'][0])
    assert set(req.options[codec.OPT_PRL]) >= {1, 3, 6}


@pytest.mark.parametrize('name', NAMES)
def test_served_from_captured(name):
    who = name.split('-')[0]
    srv = helpers.make_server(helpers.table([
        {'mac': MACS['dhclient'], 'ip': IPS['dhclient'],
         'hostname': 'node-1'},
        {'mac': MACS['udhcpc'], 'ip': IPS['udhcpc']}]))
    data = load(name)
    if name.endswith('request'):
        # the captured REQUEST names the server of the capture, 172.22.0.2
        assert codec.parse(data).options.get(codec.OPT_SERVER_ID) in (
            None, bytes([172, 22, 0, 2]))
    reply = srv.handle(data)
    assert reply is not None
    b, opts = helpers.decode(reply.payload)
    assert b.yiaddr == IPS[who]
    assert opts['message-type'] == (2 if name.endswith('discover') else 5)
