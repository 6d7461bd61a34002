"""Real iPXE resolves a boot name through the agent (QEMU, SeaBIOS).

The machine's reservation names its script by host name,
``http://images.vmetal.test:8080/dns-vm/boot.ipxe``; iPXE has no hosts
file, so the only way to that URL is the DNS server of the agent's DHCP
reply (option 6, the reservation has no DNS servers of its own). The
script chains a second URL by name carrying the machine's MAC and IP; the
stand-in boot server on the cluster side seeing that request proves that
iPXE resolved the name twice through the agent and fetched through the
proxy. Software emulation, bounded, killed by PID.
"""

import os
import time

import pytest

from tests.fixtures import bridge_bed as bridge
from tests.fixtures import netns
from tests.fixtures import qemu

MAC = '52:54:00:dd:00:10'
IP = '172.22.0.80'
NAME = 'images.vmetal.test'
TIMEOUT = 60
BOOT_IPXE = b"""#!ipxe
echo vmetal dns: boot.ipxe is running
chain http://%s:8080/dns-proof/${net0/mac:hexhyp}/${net0/ip} ||
""" % NAME.encode()
PROOF_IPXE = b"""#!ipxe
echo vmetal dns: proof reached
poweroff ||
sleep 300
"""
HOSTS = {'defaults': {'prefix': 24, 'lease_time': 600},
         'hosts': [{'mac': MAC, 'ip': IP, 'hostname': 'dns-vm',
                    'ipxe_script_url': 'http://%s:8080/dns-vm/boot.ipxe'
                    % NAME}]}


def _seen(bed, want):
    return any(line.startswith(want)
               for line in bed.requests_seen(bed.boot_log))


@pytest.mark.timeout(TIMEOUT + 90)
def test_ipxe_resolves_the_boot_name_through_the_agent():
    bridge.require_root_and('ip', 'setpriv', 'qemu-system-x86_64')
    with netns.Lab('vdnsq') as lab:
        bed = bridge.Bed(lab)
        bed.start_cluster_side()
        bed.write_http('dns-vm/boot.ipxe', BOOT_IPXE)
        proof = 'dns-proof/%s/%s' % (MAC.replace(':', '-'), IP)
        bed.write_http(proof, PROOF_IPXE)
        agent = netns.start_agent(
            lab, bed.agent_ns, bridge.agent_opts(
                lab.tmpdir, dns_names=NAME, metrics_port=0), HOSTS)
        try:
            assert agent.wait_log('DNS answering', timeout=20), agent.log()
            bridge.wait_port(bed.client, bridge.SERVER, 8080)
            begin = time.monotonic()
            proc, console = qemu.start_vm(lab, bed.prov, 'dnsvm', MAC)
            try:
                deadline = time.monotonic() + TIMEOUT
                while (time.monotonic() < deadline and proc.poll() is None
                       and not _seen(bed, 'GET /%s ' % proof)):
                    time.sleep(0.5)
            finally:
                netns.stop_process(proc)
            print('iPXE by name: proof after %.1f s'
                  % (time.monotonic() - begin))
            with open(console, errors='replace') as f:
                text = f.read()[-3000:]
            assert _seen(bed, 'GET /dns-vm/boot.ipxe '), text
            assert _seen(bed, 'GET /%s ' % proof), text
            assert 'http://%s:8080/dns-vm/boot.ipxe... ok' % NAME in text
            assert 'Traceback' not in agent.log()
        finally:
            agent.stop()
    assert not os.path.exists(lab.tmpdir)
