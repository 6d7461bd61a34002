"""The address space of a pool and how an allocation walks it (pure).

A pool hands out the addresses of its ranges, less its exclusions, the
network address, the broadcast address and the gateway. That set is kept as
a few sorted blocks of consecutive addresses (an IPv6 /64 is one or two
blocks), so that the *index* of an address in the space and the address at
an index are found by bisection: allocation never enumerates the pool.

Fresh addresses are handed out by a cursor the store keeps per pool, cut
into :data:`STRIPES` stripes: stripe ``s`` walks the indices ``s, s +
STRIPES, s + 2 * STRIPES, ...``. An allocation takes the stripe with the
lowest next index that no concurrent allocation holds, so one allocator
alone hands out the space in index order, and several at once each take
a stripe of their own instead of waiting for each other's commit. Once
every stripe has passed the end, released addresses whose quarantine is
over are reused, oldest release first.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
import hashlib


class AddressSpace:
    """An ordered set of integer addresses made of disjoint blocks.

    :param blocks: ``(first, last)`` pairs, inclusive, sorted and disjoint.
    """

    __slots__ = ('_firsts', '_lasts', '_offsets', 'size')

    def __init__(self, blocks: Iterable[tuple[int, int]]) -> None:
        firsts: list[int] = []
        lasts: list[int] = []
        offsets: list[int] = []
        size = 0
        previous_last = -1
        for first, last in blocks:
            if first > last or first <= previous_last:
                raise ValueError('blocks must be sorted, disjoint and '
                                 'not reversed: %d-%d' % (first, last))
            firsts.append(first)
            lasts.append(last)
            offsets.append(size)
            size += last - first + 1
            previous_last = last
        self._firsts = firsts
        self._lasts = lasts
        self._offsets = offsets
        self.size = size

    @property
    def blocks(self) -> list[tuple[int, int]]:
        return list(zip(self._firsts, self._lasts))

    def address_at(self, index: int) -> int:
        """The address at ``index`` (0-based) of the space.

        :raises IndexError: when ``index`` is outside ``[0, size)``.
        """
        if not 0 <= index < self.size:
            raise IndexError(index)
        block = bisect.bisect_right(self._offsets, index) - 1
        return self._firsts[block] + (index - self._offsets[block])

    def index_of(self, address: int) -> int | None:
        """The index of ``address``, or None if it is not in the space."""
        block = bisect.bisect_right(self._firsts, address) - 1
        if block < 0 or address > self._lasts[block]:
            return None
        return self._offsets[block] + (address - self._firsts[block])

    def __contains__(self, address: object) -> bool:
        return isinstance(address, int) and self.index_of(address) is not None

    def fingerprint(self) -> str:
        """A digest of the blocks: it changes when the space changes."""
        digest = hashlib.sha256()
        for first, last in zip(self._firsts, self._lasts):
            digest.update(b'%x-%x;' % (first, last))
        return digest.hexdigest()[:32]


#: Stripes of a pool's cursor: more than the allocators a deployment runs
#: at once (conductors x workers that allocate in one pool at the same
#: instant), few enough that one allocator alone fills the space in order.
STRIPES = 8


def stripe_start(cursor: int, stripe: int, stripes: int = STRIPES) -> int:
    """The first index of ``stripe`` at or after ``cursor``."""
    return cursor + (stripe - cursor) % stripes


def next_fresh(space: AddressSpace, cursor: int,
               is_taken, step: int = 1) -> tuple[int | None, int]:
    """Find the next fresh address at or after ``cursor``.

    :param space: the pool's address space.
    :param cursor: the first index not yet handed out by the cursor.
    :param is_taken: callable(address int) -> bool; true when the address
        already has a record (an operator pin, or an allocation made under
        an older layout of the pool).
    :param step: the distance between the indices of the cursor (a
        stripe's: :data:`STRIPES`).
    :returns: ``(address or None, new cursor)``; the address is None when
        the space is used up.
    """
    while cursor < space.size:
        address = space.address_at(cursor)
        cursor += step
        if not is_taken(address):
            return address, cursor
    return None, cursor
