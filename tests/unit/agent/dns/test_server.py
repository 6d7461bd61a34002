"""The DNS component on loopback sockets, its limits and its factory."""

import socket
import struct
import time

import pytest
from scapy.layers.dns import DNS
from scapy.layers.dns import DNSQR

from vmetal_ironic.agent.dns import server
from vmetal_ironic.agent.dns import transport
from vmetal_ironic.agent.dns import zone
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import service
from vmetal_ironic import exception


def query(name='images.vmetal.test', qtype='A', qid=1):
    return bytes(DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype)))


@pytest.fixture
def srv():
    z = zone.Zone(['images.vmetal.test'], '172.22.0.2', None, 60)
    s = server.DnsServer(z, ['127.0.0.1'], port=0, rate=20)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def udp(srv):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(2)
    c.connect(('127.0.0.1', srv.port))
    return c


def sample(counter, **labels):
    return metrics.REGISTRY.get_sample_value(counter + '_total', labels) or 0


def test_udp_answer_and_metrics(srv):
    before = sample('vmetal_dns_queries', type='a', result='noerror')
    with udp(srv) as c:
        c.send(query())
        r = DNS(c.recv(2048))
    assert (r.id, r.rcode, r.an[0].rdata) == (1, 0, '172.22.0.2')
    assert sample('vmetal_dns_queries', type='a',
                  result='noerror') == before + 1


def test_garbage_is_silence_and_counted(srv):
    before = sample('vmetal_dns_dropped', reason='garbage')
    with udp(srv) as c:
        for data in (b'', b'x' * 5, b'\0' * 4000):
            c.send(data)
        c.send(query(qid=9))
        assert DNS(c.recv(2048)).id == 9       # the first answer
    assert sample('vmetal_dns_dropped', reason='garbage') == before + 3


def test_rate_limit_per_source(srv):
    with udp(srv) as c:
        for i in range(100):
            c.send(query(qid=i))
        c.settimeout(0.5)
        got = []
        try:
            while True:
                got.append(DNS(c.recv(2048)).id)
        except socket.timeout:
            pass
    assert got == list(range(20))
    time.sleep(1.05)   # the next window
    with udp(srv) as c:
        c.send(query(qid=77))
        assert DNS(c.recv(2048)).id == 77


def tcp_query(sock, data):
    sock.sendall(struct.pack('!H', len(data)) + data)


def tcp_answer(sock):
    head = sock.recv(2, socket.MSG_WAITALL)
    (n,) = struct.unpack('!H', head)
    return DNS(sock.recv(n, socket.MSG_WAITALL))


def test_tcp_pipelined_queries(srv):
    with socket.create_connection(('127.0.0.1', srv.port), 2) as c:
        second = query(qid=2, qtype='AAAA')
        c.sendall(struct.pack('!H', 36) + query(qid=1)
                  + struct.pack('!H', len(second)) + second)
        a, b = tcp_answer(c), tcp_answer(c)
        assert (a.id, a.an[0].rdata, b.id, b.ancount) == (1, '172.22.0.2',
                                                          2, 0)
        # garbage on the connection: no answer, the connection closed
        tcp_query(c, b'\x00\x01\x02')
        assert c.recv(10) == b''


def test_tcp_oversized_length_closes(srv):
    with socket.create_connection(('127.0.0.1', srv.port), 2) as c:
        c.sendall(b'\xff\xff' + b'x' * 100)
        assert c.recv(10) == b''


class FakeSelector:
    def __init__(self):
        self.fds = set()

    def register(self, sock, events, data):
        self.fds.add(sock.fileno())

    def unregister(self, sock):
        self.fds.discard(sock.fileno())


def test_tcp_limits_and_idle_expiry():
    now = [100.0]
    sel = FakeSelector()
    conns = transport.TcpConnections(lambda m, p: b'', sel,
                                     clock=lambda: now[0],
                                     max_connections=3, max_per_source=2,
                                     idle=5.0)
    lst = transport.bound_socket(socket.SOCK_STREAM, '127.0.0.1', 0, None)
    port = lst.getsockname()[1]
    clients = [socket.create_connection(('127.0.0.1', port))
               for _ in range(3)]
    try:
        time.sleep(0.1)
        assert conns.accept(lst) == 2       # the third: per source
        assert conns.refused == 1 and len(sel.fds) == 2
        assert conns.expire() == 5.0
        now[0] += 5.0
        assert conns.expire() is None and len(conns) == 0 and not sel.fds
    finally:
        for c in clients:
            c.close()
        lst.close()


def test_stop_releases_the_port():
    z = zone.Zone(['a.test'], '127.0.0.1', None, 1)
    s = server.DnsServer(z, ['127.0.0.1'], port=0)
    s.start()
    port = s.port
    s.stop()
    s2 = server.DnsServer(z, ['127.0.0.1'], port=port)
    s2.start()
    s2.stop()


@pytest.fixture
def conf(agent_conf):
    agent_conf.set_override('server_address', '172.22.0.2',
                            group='dhcp_agent')
    agent_conf.set_override('interface', 'prov0', group='dhcp_agent')
    return agent_conf


def test_factory_off_by_default(conf):
    assert conf.dhcp_agent.dns_names == []
    assert server.create_components(conf, None) == []


def test_factory(conf):
    conf.set_override('dns_names', ['Images.vmetal.test.',
                                    'ironic.vmetal.test'],
                      group='dhcp_agent')
    conf.set_override('service_address', '172.22.0.9', group='dhcp_agent')
    conf.set_override('server_address6', 'fd00:22:0::2', group='dhcp_agent')
    conf.set_override('dns_tcp', False, group='dhcp_agent')
    [s] = server.create_components(conf, None)
    assert s.addresses == [('172.22.0.2', False), ('172.22.0.9', True),
                           ('fd00:22::2', True)]
    assert (s.port, s.interface, s.tcp, s.limiter.burst) == (
        53, 'prov0', False, 100)
    assert s.zone.names == {b'\x06images\x06vmetal\x04test\0',
                            b'\x06ironic\x06vmetal\x04test\0'}
    reply, _t, _r = s.zone.respond(query())
    assert DNS(reply).an[0].rdata == '172.22.0.9'     # the service address


@pytest.mark.parametrize('bad', ['-x.test', 'a..b', 'x' * 64 + '.test',
                                 'a b.test', 'é.test', '.', 'a\n.test',
                                 'a.' * 127 + 'bc'])
def test_factory_refuses_bad_names(conf, bad):
    conf.set_override('dns_names', ['ok.test', bad], group='dhcp_agent')
    with pytest.raises(exception.ConfigError) as e:
        server.create_components(conf, None)
    assert 'dns_names' in str(e.value) and bad in str(e.value)


def test_tcp_connections_in_the_descriptor_budget(conf):
    budget = dict(service.descriptor_budget(conf, ['dns']))
    assert budget['[dhcp_agent]dns_tcp = true'] == transport.MAX_CONNECTIONS
    conf.set_override('dns_tcp', False, group='dhcp_agent')
    assert len(service.descriptor_budget(conf, ['dns'])) == 1
