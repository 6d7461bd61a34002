"""Reply option policy tests."""

from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import netboot
from vmetal_ironic.agent.dhcp import options
from vmetal_ironic.agent.sources.reservations import BootConfig
from vmetal_ironic.agent.sources.reservations import Network

SID = bytes([10, 0, 0, 2])
NET = Network(24, bytes([10, 0, 0, 1]), (bytes([10, 0, 0, 53]),), 'prov',
              1800, 9000, ((bytes([192, 168, 0, 0]), 16,
                            bytes([10, 0, 0, 254])),), 0x0a000000)


def codes(parts):
    return [p[0] for p in parts]


def test_no_prl_sends_everything():
    parts = options.encode(SID, NET, None, None, True)
    assert codes(parts) == [54, 51, 58, 59, 1, 3, 6, 15, 26, 121]
    assert parts[2] == codec.opt_u32(58, 900)
    assert parts[3] == codec.opt_u32(59, 1575)
    # RFC 3442: the default route is repeated in option 121.
    assert parts[-1].endswith(b'\x00\x0a\x00\x00\x01')


def test_prl_limits_optional_options():
    parts = options.encode(SID, NET, None, bytes([1, 3, 6]), True)
    assert codes(parts) == [54, 51, 58, 59, 1, 3, 6]


def test_inform_has_no_lease():
    parts = options.encode(SID, NET, None, None, False)
    assert 51 not in codes(parts) and 58 not in codes(parts)


def test_boot_options_sent_when_decided():
    boot = BootConfig(bios_bootfile='undionly.kpxe', tftp_server='10.0.0.3')
    d = netboot.decide(boot, netboot.PXE, 0, '10.0.0.2', True)
    parts = options.encode(SID, NET, d, bytes([1, 43]), True)
    assert codes(parts) == [54, 51, 58, 59, 1, 3, 60, 66, 67, 43]
    assert parts[6] == codec.opt(60, b'PXEClient')
    assert parts[8] == codec.opt(67, b'undionly.kpxe')


def test_cache_returns_same_bytes_and_fit_drops_tail():
    cache = options.OptionCache(SID)
    a = cache.get(NET, None, b'\x01\x03')
    assert a is cache.get(NET, None, b'\x01\x03')
    full = cache.get(NET, None, None)
    short = cache.fit(NET, None, None, True, len(full) - 1)
    assert full.startswith(short) and len(short) < len(full)
