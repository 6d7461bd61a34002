"""A real DHCP client (udhcpc) on each side of the agent's pod."""

import os

from tests.functional.deploy import pod

SCRIPT = '''#!/bin/sh
case "$1" in
  bound|renew) echo "$1 ip=$ip mask=$mask server=$serverid" >> "%s" ;;
esac
exit 0
'''


def udhcpc(ns, lab, name, tries):
    """Run udhcpc once on ns's eth0 (``tries`` discovers, 1 s apart).

    :returns: (exit code, the "bound ..." lines its script recorded).
    """
    out = lab.path(name + '.events')
    script = lab.path(name + '.sh')
    with open(script, 'w') as f:
        f.write(SCRIPT % out)
    os.chmod(script, 0o755)
    open(out, 'w').close()
    res = ns.run('udhcpc', '-f', '-q', '-n', '-i', 'eth0', '-s', script,
                 '-t', str(tries), '-T', '1', '-A', '1', check=False,
                 timeout=tries * 2 + 10)
    with open(out) as f:
        return res.returncode, f.read().splitlines()


def check_both_sides(net, server):
    """The provisioning client gets its lease; the cluster one nothing.

    Both MACs are reserved: the cluster client is refused because it asks
    on eth0, not because it is unknown.
    """
    prov = net.client('cprov', net.prov, pod.MAC_PROV)
    clus = net.client('cclus', net.cluster, pod.MAC_CLUSTER)
    rc, lines = udhcpc(prov, net.lab, 'prov', tries=10)
    assert rc == 0 and lines == [
        'bound ip=%s mask=24 server=%s' % (pod.PROV_IP, server)], (rc, lines)
    rc, lines = udhcpc(clus, net.lab, 'clus', tries=3)
    assert rc != 0 and lines == [], (rc, lines)
