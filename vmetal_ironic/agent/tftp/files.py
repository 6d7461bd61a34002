"""The TFTP server's read-only view of its root directory.

A requested name is resolved below the root and opened read-only; a name
that is absolute, has a ``..`` component, or resolves (through symbolic
links) to anything outside the root is refused. After opening, the kernel's
idea of the open file's path (``/proc/self/fd``) is checked again, so a
symbolic link swapped in between the check and the open cannot escape.
"""

import dataclasses
import os
import stat

from vmetal_ironic.agent.tftp import packet


class Refused(Exception):
    """A request the server refuses; carries the TFTP error to send."""

    def __init__(self, code: int, message: str, reason: str,
                 errno: int | None = None):
        super().__init__(reason)
        self.code = code
        self.message = message
        self.reason = reason
        self.errno = errno


@dataclasses.dataclass
class OpenFile:
    """A file opened for a transfer; the caller closes ``fd``."""

    fd: int
    size: int
    path: str


def _access(reason: str) -> Refused:
    return Refused(packet.ERR_ACCESS, 'Access violation', reason)


def _not_found(reason: str) -> Refused:
    return Refused(packet.ERR_NOT_FOUND, 'File not found', reason)


def real_root(root: str) -> str:
    """The canonical path of a TFTP root; it must be a directory.

    :raises ValueError: if ``root`` is not an existing directory.
    """
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        raise ValueError('TFTP root %s is not a directory' % root)
    return real


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve(root: str, filename: str) -> str:
    """The path below ``root`` (canonical) that ``filename`` names.

    :param root: the canonical root, from :func:`real_root`.
    :param filename: the name the client asked for.
    :returns: the canonical path of the file.
    :raises Refused: if the name leaves the root.
    """
    name = filename.replace('\\', '/')
    if name.startswith('/'):
        raise _access('absolute path')
    parts = [p for p in name.split('/') if p not in ('', '.')]
    if not parts:
        raise _not_found('empty path')
    if '..' in parts:
        raise _access('".." in path')
    real = os.path.realpath(os.path.join(root, *parts))
    if not _inside(root, real) or real == root:
        raise _access('resolves outside the root to %s' % real)
    return real


def open_file(root: str, filename: str) -> OpenFile:
    """Open ``filename`` below ``root`` for reading.

    :param root: the canonical root, from :func:`real_root`.
    :param filename: the name the client asked for.
    :returns: an :class:`OpenFile`.
    :raises Refused: if the name leaves the root, does not exist, or is not
        a readable regular file.
    """
    path = resolve(root, filename)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _not_found('no such file %s' % path)
    except PermissionError:
        raise _access('permission denied on %s' % path)
    except OSError as e:
        refused = _access('cannot open %s: %s' % (path, e.strerror))
        refused.errno = e.errno
        raise refused
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_found('%s is not a regular file' % path)
        try:
            opened = os.readlink('/proc/self/fd/%d' % fd)
        except OSError:
            opened = path
        if not _inside(root, opened):
            raise _access('opened file %s is outside the root' % opened)
        return OpenFile(fd, st.st_size, opened)
    except BaseException:
        os.close(fd)
        raise
