"""DHCP replies naming the agent as DNS server (options 6 and 23)."""

import ipaddress

from scapy.layers import dhcp6 as s6

from tests.fixtures import dhcp6_packets as p6
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import handlers
from vmetal_ironic.agent.dhcp import netboot
from vmetal_ironic.agent.dhcp import options
from vmetal_ironic.agent.dhcp6 import handlers as handlers6
from vmetal_ironic.agent.dhcp6 import netboot as netboot6
from vmetal_ironic.agent.dhcp6 import server as server6
from vmetal_ironic.agent.dns import advertise
from vmetal_ironic.agent.sources import file as file_source
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.agent.sources.reservations import Network

SID = bytes([172, 22, 0, 2])
AGENT6 = ipaddress.IPv6Address('fd00:1::2').packed
OWN = (bytes([172, 22, 0, 53]),)


def net(dns):
    return Network(24, bytes([172, 22, 0, 1]), dns, None, 600, None, (),
                   0xac160000)


def dns_of(parts):
    found = [p for p in parts if p[0] == codec.OPT_DNS]
    return found[0][2:] if found else None


def test_fallback_names_the_agent_only_without_own_servers():
    assert dns_of(options.encode(SID, net(()), None, None, True,
                                 SID)) == SID
    assert dns_of(options.encode(SID, net(OWN), None, None, True,
                                 SID)) == OWN[0]
    # as before without the responder
    assert dns_of(options.encode(SID, net(()), None, None, True)) is None


def test_always_replaces_own_servers():
    assert dns_of(options.encode(SID, net(OWN), None, None, True, SID,
                                 True)) == SID


def test_only_when_asked_for():
    assert dns_of(options.encode(SID, net(()), None, bytes([1, 3]), True,
                                 SID)) is None
    assert dns_of(options.encode(SID, net(()), None, bytes([1, 6]), True,
                                 SID)) == SID


def tlv(joined):
    out, i = [], 0
    while i < len(joined):
        out.append(joined[i:i + 2 + joined[i + 1]])
        i += 2 + joined[i + 1]
    return out


def test_context_cache_carries_the_agent_address():
    ctx = handlers.Context(SID, netboot.Decider('172.22.0.2'),
                           agent_dns=SID)
    assert dns_of(tlv(ctx.cache.get(net(()), None, None))) == SID
    assert dns_of(tlv(ctx.cache.fit(net(OWN), None, None, True,
                                    200))) == OWN[0]
    ctx = handlers.Context(SID, netboot.Decider('172.22.0.2'),
                           agent_dns=SID, dns_always=True)
    assert dns_of(tlv(ctx.cache.get(net(OWN), None, None))) == SID


def test_advertised_from_conf(agent_conf):
    g = 'dhcp_agent'
    agent_conf.set_override('server_address', '172.22.0.2', group=g)
    assert advertise.advertised(agent_conf) == (b'', b'', False)
    agent_conf.set_override('dns_names', ['images.vmetal.test'], group=g)
    assert advertise.advertised(agent_conf) == (SID, b'', False)
    agent_conf.set_override('service_address', '172.22.0.9', group=g)
    agent_conf.set_override('server_address6', 'fd00:1::2', group=g)
    agent_conf.set_override('dns_advertise', 'always', group=g)
    assert advertise.advertised(agent_conf) == (
        bytes([172, 22, 0, 9]), AGENT6, True)
    agent_conf.set_override('dns_advertise', 'never', group=g)
    assert advertise.advertised(agent_conf) == (b'', b'', False)


def _server6(dns6, always):
    doc = {'defaults': {'prefix6': 64, 'lease_time': 1800},
           'hosts': [{'mac': p6.MAC1, 'ip': p6.IP1},
                     {'mac': p6.MAC2, 'ip': p6.IP2,
                      'dns_servers': [p6.DNS6]}]}
    t = reservations.Table()
    t.replace('file', file_source.load_hosts(doc, 3600, {}, t.interner,
                                             boot_defaults6=p6.BOOT6))
    responder = handlers6.Responder(p6.SERVER_DUID, netboot6.Decider(False),
                                    agent_dns=dns6, dns_always=always)
    return server6.DHCPv6Server(t, responder, None, max_payload=1452)


def _dns6(srv, mac):
    pkt = p6.solicit(duid=p6.duid_ll(mac),
                     extra=[s6.DHCP6OptOptReq(reqopts=[23])])
    out = srv.handle(bytes(pkt), p6.src(mac))
    adv = s6.DHCP6(out[1])
    if s6.DHCP6OptDNSServers not in adv:
        return None
    return adv[s6.DHCP6OptDNSServers].dnsservers


def test_dhcpv6_option_23():
    srv = _server6(AGENT6, False)
    assert _dns6(srv, p6.MAC1) == ['fd00:1::2']
    assert _dns6(srv, p6.MAC2) == [p6.DNS6]
    srv = _server6(AGENT6, True)
    assert _dns6(srv, p6.MAC2) == ['fd00:1::2']
    srv = _server6(b'', False)
    assert _dns6(srv, p6.MAC1) is None
