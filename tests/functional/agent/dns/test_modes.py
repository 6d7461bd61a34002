"""``dns_advertise = always`` and a service address (VIP), for real.

An agent of its own (not the package's bed): its ``service_address``
172.22.0.9 is not on the interface at start-up (another replica holds
it, as with keepalived); the names resolve to it, the DHCP replies name
it, and once the address arrives on the interface it answers there.
"""

import os

from tests.fixtures import netns
from tests.functional.agent.dns import dns_bed as c

VIP = '172.22.0.9'


def test_always_advertises_the_service_address():
    netns.require_root_and('network namespaces and port 53', 'ip',
                           'setpriv', 'dig', 'udhcpc')
    with netns.Lab('vdnsm') as lab:
        prov = lab.segment('prov')
        agent_ns = lab.namespace('agent')
        agent_ns.attach(prov, 'prov0', c.SERVER + '/24')
        client = lab.namespace('client')
        client.attach(prov, 'eth0', c.CLIENT + '/24')
        dhcp = lab.namespace('dhcp')
        dhcp.attach(prov, 'eth0', mac=c.MAC_OWN_DNS)
        opts = dict(interface='prov0', server_address=c.SERVER,
                    service_address=VIP, dhcpv6='false',
                    tftp_enabled='false', dns_names='images.vmetal.test',
                    dns_advertise='always')
        agent = netns.start_agent(lab, agent_ns, opts, c.HOSTS)
        try:
            assert agent.wait_log('DNS answering', timeout=20), agent.log()
            assert c.dig(client, '+short', 'images.vmetal.test').split() \
                == [VIP]
            # the VIP is not here yet: nothing answers on it
            r = client.run('dig', '@' + VIP, '+tries=1', '+time=1',
                           'images.vmetal.test', check=False, timeout=20)
            assert r.returncode == 9
            # a host with DNS servers of its own gets the agent's VIP only
            script, events = c.client_script(lab, 'udhcpc',
                                             c.UDHCPC_SCRIPT)
            p = dhcp.popen('udhcpc', '-f', '-q', '-i', 'eth0', '-s', script,
                           '-t', '10', '-T', '1', '-A', '1')
            try:
                line = c.wait_line(events, 'bound')
            finally:
                netns.stop_process(p)
            assert line == 'bound ip=%s dns=%s' % (c.IP_OWN_DNS, VIP)
            # keepalived moves the VIP here: it is answered at once
            agent_ns.run('ip', 'addr', 'add', VIP + '/32', 'dev', 'prov0')
            assert c.dig(client, '+short', 'images.vmetal.test',
                         server=VIP).split() == [VIP]
            assert 'Traceback' not in agent.log()
        finally:
            agent.stop()
    assert not os.path.exists(lab.tmpdir)
