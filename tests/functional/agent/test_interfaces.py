"""TFTP and the proxy answer on the provisioning interface only.

A host on the cluster segment that routes to the agent's provisioning
address reaches the agent through its cluster interface: neither the TFTP
server nor the proxy may answer it (both sockets are bound to the
provisioning address and device).
"""

from tests.fixtures import bridge_bed as bridge


def test_not_served_on_the_cluster_interface(bridge_bed):
    mark = bridge_bed.agent.mark()
    bridge_bed.write_http('interfaces/boot.ipxe', b'#!ipxe\n')
    probe_ns = bridge_bed.lab.namespace('clusprobe')
    probe_ns.attach(bridge_bed.clus, 'eth0', '10.99.0.50/24')
    probe_ns.route('172.22.0.0/24', 'via', '10.99.0.2')
    # The route works: a closed port on that address refuses at once
    # (curl exit 7), rather than timing out (28).
    r = probe_ns.run('curl', '-sS', '--max-time', '4',
                     'http://%s:9/' % bridge.SERVER, check=False)
    assert r.returncode == 7, r.stderr
    r = probe_ns.run('curl', '-sS', '--max-time', '4', '-o', '/dev/null',
                     'tftp://%s/snponly.efi' % bridge.SERVER, check=False)
    assert r.returncode != 0
    r = probe_ns.run('curl', '-sS', '--max-time', '4', '-o', '/dev/null',
                     bridge.PROXY + '/interfaces/boot.ipxe', check=False)
    assert r.returncode != 0
    assert '10.99.0.50' not in bridge_bed.agent.log(since=mark)
    # The same requests from the provisioning segment are served.
    bridge_bed.curl('-o', '/dev/null', bridge.PROXY + '/interfaces/boot.ipxe')
    bridge_bed.curl('-o', '/dev/null', 'tftp://%s/snponly.efi' % bridge.SERVER)
