"""netascii blocks converted while streaming (pure but for ``os.pread``).

RFC 764 netascii maps CR to CR NUL and LF to CR LF, so a converted block
does not start at a fixed offset of the file. Instead of converting the
whole file (memory grows with the file and with the transfers), the
position in the file where each block begins is remembered for the blocks
that may still be sent again (those not yet acknowledged): memory per
transfer is a few integers per window entry, reading is one ``pread`` of
about one block per block sent.
"""

from __future__ import annotations

import os

from vmetal_ironic.agent.tftp import packet

_SCAN = 1024 * 1024
# The window granted to netascii transfers, whatever tftp_max_windowsize:
# it bounds the positions remembered per transfer.
MAX_WINDOW = 64


def _specials(raw: bytes) -> int:
    return raw.count(b'\r') + raw.count(b'\n')


def converted_size(fd: int, size: int) -> int:
    """The length of the netascii form of the first ``size`` bytes."""
    total, offset = size, 0
    while offset < size:
        raw = os.pread(fd, min(_SCAN, size - offset), offset)
        if not raw:
            break
        total += _specials(raw)
        offset += len(raw)
    return total


class NetasciiBlocks:
    """The blocks of a file's netascii form, produced in order.

    :param fd: the open file (the caller closes it).
    :param raw_size: the file's size.
    :param blksize: the negotiated block size.
    """

    def __init__(self, fd: int, raw_size: int, blksize: int) -> None:
        self.fd = fd
        self.blksize = blksize
        self.size = converted_size(fd, raw_size)
        # block -> (file offset, converted bytes of that byte to skip)
        self._marks: dict[int, tuple[int, int]] = {1: (0, 0)}

    def block(self, n: int) -> bytes:
        """Block ``n`` (1-based); it or its predecessor must be kept.

        :raises KeyError: block ``n`` was released or is not reached yet.
        """
        offset, skip = self._marks[n]
        want = skip + self.blksize
        raw = os.pread(self.fd, self.blksize + 1, offset)
        data = packet.to_netascii(raw)
        chunk = data[skip:want]
        if len(data) >= want:
            # The smallest k with len(convert(raw[:k])) >= want.
            lo, hi = 1, len(raw)
            while lo < hi:
                mid = (lo + hi) // 2
                if mid + _specials(raw[:mid]) >= want:
                    hi = mid
                else:
                    lo = mid + 1
            over = lo + _specials(raw[:lo]) - want
            self._marks[n + 1] = (offset + lo - over, 1 if over else 0)
        else:
            self._marks[n + 1] = (offset + len(raw), 0)
        return chunk

    def release(self, acked: int) -> None:
        """Forget the positions of blocks up to ``acked`` (acknowledged)."""
        for n in [k for k in self._marks if k <= acked]:
            del self._marks[n]

    def __len__(self) -> int:
        """Positions held (at most the window plus one)."""
        return len(self._marks)
