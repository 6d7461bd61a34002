"""Zero-copy relay of a body between two sockets with splice(2) (Linux).

The proxy's sockets carry timeouts, so Python keeps them non-blocking:
each splice that would block waits in poll(2) for at most ``timeout``.
"""

import fcntl
import os
import select

#: splice(2) exists here (Linux, Python >= 3.10).
AVAILABLE = hasattr(os, 'splice')
PIPE_SIZE = 1024 * 1024
_F_SETPIPE_SZ = getattr(fcntl, 'F_SETPIPE_SZ', 1031)


def _wait(fd: int, events: int, timeout: float) -> None:
    poller = select.poll()
    poller.register(fd, events)
    if not poller.poll(timeout * 1000):
        raise TimeoutError('no progress for %.1f s' % timeout)


def splice(src: int, dst: int, length: int, timeout: float) -> int:
    """Move exactly ``length`` bytes from socket ``src`` to socket ``dst``.

    :param src: file descriptor to read from.
    :param dst: file descriptor to write to.
    :param length: bytes to move.
    :param timeout: seconds either side may stall.
    :returns: ``length``.
    :raises TimeoutError: if a side stalls longer than ``timeout``.
    :raises ConnectionError: if ``src`` ends before ``length`` bytes.
    :raises OSError: on a socket error.
    """
    r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        try:
            fcntl.fcntl(w, _F_SETPIPE_SZ, PIPE_SIZE)
            chunk = PIPE_SIZE
        except OSError:
            chunk = 64 * 1024
        moved = 0
        flags = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
        while moved < length:
            try:
                n = os.splice(src, w, min(chunk, length - moved),
                              flags=flags)
            except BlockingIOError:
                _wait(src, select.POLLIN, timeout)
                continue
            if n == 0:
                raise ConnectionError('upstream closed after %d of %d '
                                      'bytes' % (moved, length))
            pending = n
            while pending:
                try:
                    pending -= os.splice(r, dst, pending, flags=flags)
                except BlockingIOError:
                    _wait(dst, select.POLLOUT, timeout)
            moved += n
        return moved
    finally:
        os.close(r)
        os.close(w)
