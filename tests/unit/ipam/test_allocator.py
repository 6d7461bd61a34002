import random

import pytest

from vmetal_ironic.ipam import allocator


def test_address_at_and_index_of_are_inverse():
    space = allocator.AddressSpace([(10, 19), (30, 30), (100, 199)])
    assert space.size == 111
    for index in range(space.size):
        address = space.address_at(index)
        assert space.index_of(address) == index
        assert address in space
    assert [space.address_at(i) for i in (0, 9, 10, 11, 110)] == \
        [10, 19, 30, 100, 199]


@pytest.mark.parametrize('address', [0, 9, 20, 29, 31, 99, 200, 10 ** 9])
def test_outside_addresses(address):
    space = allocator.AddressSpace([(10, 19), (30, 30), (100, 199)])
    assert space.index_of(address) is None
    assert address not in space


def test_index_out_of_range():
    space = allocator.AddressSpace([(1, 2)])
    with pytest.raises(IndexError):
        space.address_at(2)
    with pytest.raises(IndexError):
        space.address_at(-1)


@pytest.mark.parametrize('blocks', [[(5, 4)], [(1, 5), (5, 6)],
                                    [(10, 12), (1, 2)]])
def test_bad_blocks(blocks):
    with pytest.raises(ValueError):
        allocator.AddressSpace(blocks)


def test_ipv6_sized_space_is_not_enumerated():
    first = 0x20010db8 << 96
    space = allocator.AddressSpace([(first + 2, first + 2 ** 64 - 1)])
    assert space.size == 2 ** 64 - 2
    assert space.address_at(space.size - 1) == first + 2 ** 64 - 1
    assert space.index_of(first + 2 ** 63) == 2 ** 63 - 2


def test_fingerprint_changes_with_blocks():
    a = allocator.AddressSpace([(1, 10)])
    b = allocator.AddressSpace([(1, 11)])
    assert a.fingerprint() == allocator.AddressSpace([(1, 10)]).fingerprint()
    assert a.fingerprint() != b.fingerprint()


def test_next_fresh_skips_taken():
    space = allocator.AddressSpace([(1, 5)])
    taken = {1, 2, 4}
    address, cursor = allocator.next_fresh(space, 0, taken.__contains__)
    assert (address, cursor) == (3, 3)
    address, cursor = allocator.next_fresh(space, cursor, taken.__contains__)
    assert (address, cursor) == (5, 5)
    assert allocator.next_fresh(space, cursor, taken.__contains__) == \
        (None, 5)


def test_next_fresh_walks_a_stripe():
    space = allocator.AddressSpace([(100, 119)])
    taken = {103}
    # Stripe 3 of 8: indices 3, 11, 19; 103 is taken.
    address, cursor = allocator.next_fresh(space, 3, taken.__contains__,
                                           step=8)
    assert (address, cursor) == (111, 19)
    assert allocator.next_fresh(space, cursor, taken.__contains__,
                                step=8) == (119, 27)
    assert allocator.next_fresh(space, 27, taken.__contains__,
                                step=8) == (None, 27)


@pytest.mark.parametrize('cursor', [0, 1, 7, 8, 13, 64, 1001])
def test_stripes_start_at_or_after_the_cursor(cursor):
    starts = [allocator.stripe_start(cursor, s)
              for s in range(allocator.STRIPES)]
    # Each stripe's first index is its own (mod STRIPES), none below the
    # cursor, and together they are the next STRIPES indices.
    assert all(i % allocator.STRIPES == s for s, i in enumerate(starts))
    assert sorted(starts) == list(range(cursor, cursor + allocator.STRIPES))


def test_stripes_together_walk_the_space_once():
    space = allocator.AddressSpace([(10, 19), (30, 40)])
    cursors = [allocator.stripe_start(0, s)
               for s in range(allocator.STRIPES)]
    handed = []
    while True:
        # The stripe with the lowest next index, as the store picks it.
        stripe = min(range(len(cursors)), key=cursors.__getitem__)
        address, cursors[stripe] = allocator.next_fresh(
            space, cursors[stripe], lambda a: False, step=allocator.STRIPES)
        if address is None:
            if all(c >= space.size for c in cursors):
                break
            continue
        handed.append(address)
    # One allocator alone: the whole space, each address once, in order.
    assert handed == [space.address_at(i) for i in range(space.size)]


def merge_blocks(blocks):
    """Sort and merge overlapping or adjacent blocks (test input only)."""
    merged = []
    for first, last in sorted(blocks):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def test_random_blocks_roundtrip():
    rng = random.Random(4)
    raw = sorted({rng.randrange(0, 10000) for _ in range(200)})
    blocks = merge_blocks([(a, a + rng.randrange(0, 5)) for a in raw])
    space = allocator.AddressSpace(blocks)
    expected = [a for first, last in blocks for a in range(first, last + 1)]
    assert space.size == len(expected)
    assert [space.address_at(i) for i in range(space.size)] == expected
