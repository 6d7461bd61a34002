"""Reading a request head and a chunked body off a client connection.

The grammar is :mod:`~vmetal_ironic.agent.http.parse`; this module only
reads. The head has one overall deadline (not a timeout per receive, so a
client trickling a line every few seconds is cut when it passes), and
every read is bounded in size.
"""

import socket
import time

from vmetal_ironic.agent.http import parse


class HeadTimeout(Exception):
    """The request head did not arrive before its deadline."""


class ClosedEarly(ConnectionError):
    """The client closed in the middle of a request head."""


def read_head(rfile, sock: socket.socket, read_timeout: float,
              deadline: float) -> bytes | None:
    """The bytes of one request head, consumed from ``rfile``.

    Nothing past the head is consumed: the body (and a pipelined next
    request) stay in ``rfile``.

    :param rfile: the connection's buffered reader.
    :param sock: its socket (the timeout of each receive is set on it).
    :param read_timeout: seconds a single receive may wait.
    :param deadline: ``time.monotonic()`` by which the head must be in.
    :returns: the head (to hand to :func:`parse.parse_head`; it may be
        malformed), or None when the client closed before sending a byte.
    :raises HeadTimeout: the deadline passed.
    :raises ClosedEarly: the client closed within the head.
    :raises OSError: on a socket error or per-receive timeout.
    """
    data = b''
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HeadTimeout()
        sock.settimeout(min(read_timeout, remaining))
        try:
            chunk = rfile.peek(1)[:parse.MAX_HEAD_SIZE]
        except socket.timeout:
            if deadline - time.monotonic() <= 0:
                raise HeadTimeout()
            raise
        if not chunk:
            if data:
                raise ClosedEarly('closed after %d bytes of the head'
                                  % len(data))
            return None
        probe = data + chunk
        end = parse.head_end(probe)
        if end is None:
            data += rfile.read(len(chunk))
        elif end < 0:
            return probe
        else:
            data += rfile.read(end - len(data))
            return data


def read_chunked(rfile, limit: int) -> bytes | parse.Invalid | None:
    """A chunked body, de-chunked; trailer fields are checked and dropped.

    :param rfile: the connection's buffered reader.
    :param limit: the largest body accepted.
    :returns: the body, None when it grows past ``limit`` (nothing past
        the limit is read), or :class:`parse.Invalid`.
    :raises OSError: on a socket error or timeout.
    """
    parts, total = [], 0
    while True:
        size = parse.chunk_size(rfile.readline(parse.MAX_CHUNK_LINE + 1))
        if isinstance(size, parse.Invalid):
            return size
        if size == 0:
            break
        total += size
        if total > limit:
            return None
        data = rfile.read(size)
        if len(data) != size or rfile.read(2) != b'\r\n':
            return parse.Invalid(400, 'malformed chunk')
        parts.append(data)
    seen = 0
    while True:
        line = rfile.readline(parse.MAX_TRAILER_SIZE + 1)
        seen += len(line)
        if seen > parse.MAX_TRAILER_SIZE:
            return parse.Invalid(400, 'trailer section larger than %d '
                                      'bytes' % parse.MAX_TRAILER_SIZE)
        done = parse.trailer_line(line)
        if isinstance(done, parse.Invalid):
            return done
        if done:
            return b''.join(parts)
