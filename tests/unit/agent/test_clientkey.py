"""Per-client limit keys: IPv4 by address, IPv6 by reservation or /64."""

import errno
import os
import socket
import types
from unittest import mock

import pytest

from vmetal_ironic.agent import clientkey
from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import server as tftp
from vmetal_ironic.agent.tftp import transfer as tftp_transfer

RESERVED = 'fd00:6::51'


def _table(*addresses):
    hosts = {}
    for n, a in enumerate(addresses):
        mac = bytes([0x52, 0x54, 0, 0, 0, n])
        hosts[mac] = types.SimpleNamespace(
            mac=mac, ip=socket.inet_pton(socket.AF_INET6, a),
            node_uuid='node-%d' % n)
    return types.SimpleNamespace(by_mac6=hosts)


def test_ipv4_is_its_own_key():
    keys = clientkey.ClientKeys(_table(RESERVED))
    assert keys('172.22.0.61') == '172.22.0.61'


def test_reserved_ipv6_is_its_own_key_and_others_share_their_64():
    keys = clientkey.ClientKeys(_table(RESERVED, 'fd00:6::52'))
    assert keys(RESERVED) == RESERVED
    assert keys('fd00:6:0:0:0:0:0:52') == 'fd00:6::52'
    rotated = {keys('fd00:6::%x:%x' % (i, i * 7)) for i in range(1, 500)}
    assert rotated == {'fd00:6::/64'}
    assert keys('fd00:7::1') == 'fd00:7::/64'
    assert keys('fe80::5054:ff:fe00:1%prov0') == 'fe80::/64'


@pytest.mark.parametrize('prefixlen,want', [
    (128, 'fd00:6::99'), (48, 'fd00:6::/48'), (56, 'fd00:6::/56')])
def test_prefix_length(prefixlen, want):
    keys = clientkey.ClientKeys(_table(RESERVED), prefixlen)
    assert keys('fd00:6::99') == want


def test_without_a_table_every_ipv6_source_is_keyed_by_prefix():
    assert clientkey.ClientKeys()(RESERVED) == 'fd00:6::/64'


@pytest.mark.parametrize('bad', [0, 129])
def test_bad_prefix_length(bad):
    with pytest.raises(ValueError):
        clientkey.ClientKeys(None, bad)


def test_garbage_is_its_own_key():
    assert clientkey.ClientKeys()('zz::zz::') == 'zz::zz::'


def test_a_reservation_added_later_is_seen(monkeypatch):
    table = _table()
    keys = clientkey.ClientKeys(table)
    assert keys(RESERVED) == 'fd00:6::/64'
    table.by_mac6 = _table(RESERVED).by_mac6
    monkeypatch.setattr(clientkey, 'REBUILD_INTERVAL', 0.0)
    assert keys(RESERVED) == RESERVED


class _Sock:
    def __init__(self):
        self.sent = []

    def sendto(self, data, addr):
        self.sent.append((data, addr))


@pytest.fixture
def srv6(tmp_path):
    (tmp_path / 'ok.bin').write_bytes(b'data')
    s = tftp.TftpServer(str(tmp_path), '127.0.0.1', 0, max_per_client=2,
                        address6='fd00:6::2',
                        client_key=clientkey.ClientKeys(_table(RESERVED)))
    s._listener, s._listener6 = _Sock(), _Sock()
    return s


def test_tftp_rotating_ipv6_sources_share_one_cap(srv6):
    srv6._per_ip = {'fd00:6::/64': 2}
    for i in range(1, 20):
        srv6._on_request(pkt.build_request(pkt.OP_RRQ, 'ok.bin'),
                         ('fd00:6::%x' % (0x1000 + i), 3000, 0, 0))
    assert len(srv6._listener6.sent) == 19 and not srv6._listener.sent
    for data, addr in srv6._listener6.sent:
        assert pkt.parse_error(data) == (pkt.ERR_UNDEFINED, 'Server busy')


def test_tftp_reserved_ipv6_source_has_its_own_share(srv6):
    srv6._per_ip = {'fd00:6::/64': 2}
    with mock.patch.object(tftp_transfer, 'udp_socket', autospec=True,
                           side_effect=OSError(errno.EMFILE,
                                               os.strerror(errno.EMFILE))
                           ) as opened:
        srv6._on_request(pkt.build_request(pkt.OP_RRQ, 'ok.bin'),
                         (RESERVED, 3000, 0, 0))
    # past the per-client check: the transfer's socket was asked for, on
    # the agent's IPv6 address
    opened.assert_called_once_with('fd00:6::2', 0, None,
                                   connect_to=(RESERVED, 3000, 0, 0))
    [(data, addr)] = srv6._listener6.sent
    assert addr == (RESERVED, 3000, 0, 0)


def test_tftp_ipv4_keys_are_unchanged(srv6):
    srv6._per_ip = {'172.22.0.61': 2}
    srv6._on_request(pkt.build_request(pkt.OP_RRQ, 'ok.bin'),
                     ('172.22.0.61', 3000))
    [(data, addr)] = srv6._listener.sent
    assert pkt.parse_error(data) == (pkt.ERR_UNDEFINED, 'Server busy')
