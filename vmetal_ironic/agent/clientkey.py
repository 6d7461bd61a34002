"""Whose share a client on the provisioning segment uses (per-client limits).

The TFTP server and the HTTP proxy cap what one client may hold at once
(transfers, connections) and rate-limit the log lines a client can
trigger, keyed by the client's source address. On IPv4 that is enough: a
host that changes its address has a few hundred to choose from. On IPv6 a
host may use any of the 2**64 addresses of the segment's prefix, one per
connection, and so have a share per connection. Hence the key of an IPv6
source (:class:`ClientKeys`):

* an address **reserved for a node** (an IPv6 reservation of the agent's
  table) is its own key, as an IPv4 address is: the nodes of one prefix
  never share a cap;
* **any other** IPv6 source shares one key with every other unreserved
  source of its prefix of ``prefixlen`` bits (default /64, the size of an
  IPv6 subnet): a host rotating addresses holds one share whatever it
  does. Clients without a reservation do not boot here anyway (DHCPv6 is
  reservation-only).

The reserved addresses come from the table's ``by_mac6`` view through
:class:`Reserved6`, an index rebuilt at most once a second on a miss, so
a flood of unreserved sources costs a dict lookup each.
"""

from __future__ import annotations

import socket
import time
from typing import Any

REBUILD_INTERVAL = 1.0
DEFAULT_PREFIXLEN = 64


class Reserved6:
    """IPv6 address -> the table's host reserving it (a read-only view).

    :param table: the agent's reservation table (``by_mac6``: MAC ->
        host with ``ip``, 16 bytes).
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self._index: dict[bytes, bytes] = {}
        self._at = -REBUILD_INTERVAL

    def host(self, packed: bytes) -> Any:
        """The IPv6 host whose reserved address is ``packed``, or None."""
        found = self._lookup(packed)
        if found is None and time.monotonic() - self._at >= REBUILD_INTERVAL:
            self._index = {h.ip: h.mac
                           for h in list(self.table.by_mac6.values())}
            self._at = time.monotonic()
            found = self._lookup(packed)
        return found

    def _lookup(self, packed: bytes) -> Any:
        mac = self._index.get(packed)
        host = self.table.by_mac6.get(mac) if mac is not None else None
        return host if host is not None and host.ip == packed else None


def pack6(address: str) -> bytes | None:
    """16 bytes of an IPv6 address text (a ``%scope`` suffix ignored)."""
    try:
        return socket.inet_pton(socket.AF_INET6, address.split('%', 1)[0])
    except (OSError, ValueError):
        return None


def network_key(packed: bytes, prefixlen: int) -> str:
    """``<network>/<prefixlen>`` of a 16-byte address."""
    bits = 128 - prefixlen
    net = (int.from_bytes(packed, 'big') >> bits << bits).to_bytes(16, 'big')
    return '%s/%d' % (socket.inet_ntop(socket.AF_INET6, net), prefixlen)


class ClientKeys:
    """The per-client limit key of a source address (see the module).

    :param table: the reservation table, or None (then every IPv6 source
        is keyed by its prefix).
    :param prefixlen: the aggregation of unreserved IPv6 sources; 128
        keys every address alone.
    """

    def __init__(self, table: Any = None,
                 prefixlen: int = DEFAULT_PREFIXLEN) -> None:
        if not 1 <= prefixlen <= 128:
            raise ValueError('prefix length %r is not in 1..128'
                             % (prefixlen,))
        self.prefixlen = prefixlen
        self.reserved = Reserved6(table) if table is not None else None

    def __call__(self, address: str) -> str:
        """The key of ``address``: itself, or its prefix (IPv6)."""
        if ':' not in address:
            return address
        packed = pack6(address)
        if packed is None:
            return address
        if self.prefixlen == 128 or (
                self.reserved is not None
                and self.reserved.host(packed) is not None):
            return socket.inet_ntop(socket.AF_INET6, packed)
        return network_key(packed, self.prefixlen)


def identity(address: str) -> str:
    """The key of IPv4-only callers: the address itself."""
    return address
