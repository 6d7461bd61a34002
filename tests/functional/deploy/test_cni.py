"""The NetworkAttachmentDefinitions run by the real CNI plugins (no
IPAM), the StatefulSet's init step giving prov0 the pod's address, and the
agent (a process as uid 1000 in the pod's namespace) serving prov0 only.
"""

import os

import pytest

from tests.fixtures import netns
from tests.functional.deploy import clients
from tests.functional.deploy import pod
from tests.unit.deploy import render


@pytest.mark.timeout(120)
@pytest.mark.parametrize('overlay', render.OVERLAYS)
def test_cni_attaches_prov0_and_agent_serves_it(lab, overlay):
    net = pod.PodNetwork(lab, overlay)
    try:
        result = net.add()
        # No IPAM: the plugin makes prov0 and gives it no address.
        assert result.get('ips', []) == []
        assert any(i['name'] == 'prov0' and i.get('sandbox')
                   for i in result['interfaces']), result
        out = net.init()
        server = '172.22.0.3/24'
        with open(os.path.join(out, 'agent.conf')) as f:
            assert f.read() == ('[dhcp_agent]\nserver_address = %s\n'
                                % server.split('/')[0])
        addrs = {link['ifname']: [a['local'] + '/%d' % a['prefixlen']
                                  for a in link['addr_info']
                                  if a['family'] == 'inet']
                 for link in pod.ip_json(net.pod, 'addr')}
        assert addrs['prov0'] == [server]
        assert addrs['eth0'] == [pod.POD_ETH0] == [net.eth0]
        # No route was added: the pod never routes between the segments.
        assert all(rt.get('dev') in ('eth0', 'prov0') and 'gateway' not in rt
                   for rt in pod.ip_json(net.pod, 'route'))

        opts = net.agent_conf(state_dir=pod.state_dir(lab),
                              tftp_root='/usr/lib/ipxe')
        agent = netns.start_agent(lab, net.pod, opts, pod.HOSTS,
                                  as_user='1000')
        try:
            clients.check_both_sides(net, server.split('/')[0])
            # The callback listener is bound to the cluster side (eth0),
            # the proxy to the provisioning side (prov0): every address of
            # it, since service_address (the VIP) is set.
            ss = net.pod.run('ss', '-Htln').stdout
            assert '10.99.0.2%eth0:8081 ' in ss, ss
            assert '0.0.0.0%prov0:8080 ' in ss, ss
        finally:
            agent.stop()
        assert 'Traceback' not in agent.log()
        net.delete()
        links = {link['ifname'] for link in pod.ip_json(net.pod, 'link')}
        assert 'prov0' not in links and 'eth0' in links
    finally:
        net.close()
