"""The reservation table's incremental update: right, and O(changes).

Every update is checked against the views a full rebuild computes from
the sources (the definition of right), over random adds, changes and
deletes from two sources, with client identifiers that collide on
purpose; and :meth:`Table.update` is shown not to rebuild.
"""

import random

import pytest

from vmetal_ironic.agent.sources import reservations

NET = reservations.Network(24, None, (), None, 600, None, ())
BOOT = reservations.BootConfig()


def mk(i, ip, cid, source):
    return reservations.Host(bytes([2, 0, 0, 0, 0, i]), bytes([10, 0, 0, ip]),
                             NET, BOOT, client_id=cid, source=source)


def expected(table):
    """(by_mac, {cid: set of hosts that may answer}) from the sources."""
    merged = {}
    for name in table.PRIORITY:
        merged.update(table._sources.get(name, {}))
    cids = {}
    for h in merged.values():
        if h.client_id:
            cids.setdefault(h.client_id, set()).add(id(h))
    return merged, cids


def check(table):
    merged, cids = expected(table)
    assert table.by_mac == merged
    assert set(table.by_client_id) == set(cids)
    for cid, host in table.by_client_id.items():
        assert host.client_id == cid
        assert id(host) in cids[cid]
        assert table.by_mac[host.mac] is host
    # the duplicate lists name exactly the hosts that share an identifier
    for cid, ids in cids.items():
        if len(ids) > 1:
            assert {id(h) for h in table._cid_dupes[cid]} == ids
        else:
            assert cid not in table._cid_dupes
    assert set(table._cid_dupes) <= set(cids)


@pytest.mark.parametrize('seed', range(8))
def test_random_updates_match_a_full_rebuild(seed, monkeypatch):
    rng = random.Random(seed)
    table = reservations.Table()
    cids = [None, None, b'\x01a', b'\x01b', b'\x01c']
    table.replace('ipam', [mk(i, i, rng.choice(cids), 'ipam')
                           for i in range(20)])
    if seed % 2:
        table.replace('file', [mk(i, 100 + i, rng.choice(cids), 'file')
                               for i in range(0, 20, 3)])
    check(table)

    def no_rebuild():
        raise AssertionError('update() rebuilt the whole table')
    monkeypatch.setattr(table, '_rebuild', no_rebuild)
    for _ in range(300):
        source = 'file' if seed % 2 and rng.random() < 0.3 else 'ipam'
        macs = rng.sample(range(24), rng.randint(1, 4))
        upserts = [mk(i, rng.randint(1, 250), rng.choice(cids), source)
                   for i in macs[:rng.randint(0, len(macs))]]
        deletes = [bytes([2, 0, 0, 0, 0, i])
                   for i in rng.sample(range(24), rng.randint(0, 3))]
        table.update(source, upserts, deletes)
        check(table)


def test_client_id_moves_with_changes_and_deletes():
    t = reservations.Table()
    a, b = mk(1, 1, b'\x01x', 'ipam'), mk(2, 2, None, 'ipam')
    t.replace('ipam', [a, b])
    assert t.lookup(b'\0' * 6, {61: b'\x01x'}) is a
    # the identifier moves from a to b in one sync
    a2, b2 = mk(1, 1, None, 'ipam'), mk(2, 2, b'\x01x', 'ipam')
    t.update('ipam', [a2, b2], [])
    assert t.by_client_id == {b'\x01x': b2}
    # two hosts share it; deleting the one that answers hands it over
    a3 = mk(1, 1, b'\x01x', 'ipam')
    t.update('ipam', [a3], [])
    assert t.by_client_id[b'\x01x'] is a3
    t.update('ipam', [], [a3.mac])
    assert t.by_client_id == {b'\x01x': b2}
    assert t._cid_dupes == {}
    # both deleted in one sync
    t.update('ipam', [mk(1, 1, b'\x01x', 'ipam')], [])
    t.update('ipam', [], [a.mac, b.mac])
    assert t.by_client_id == {} and t.by_mac == {}


def test_file_source_shadows_ipam_incrementally():
    t = reservations.Table()
    t.replace('ipam', [mk(1, 1, b'\x01i', 'ipam')])
    t.replace('file', [mk(1, 9, b'\x01f', 'file')])
    assert t.by_client_id == {b'\x01f': t.by_mac[bytes([2, 0, 0, 0, 0, 1])]}
    # an ipam change under a file host changes nothing served
    t.update('ipam', [mk(1, 2, b'\x01j', 'ipam')], [])
    assert t.by_mac[bytes([2, 0, 0, 0, 0, 1])].ip == bytes([10, 0, 0, 9])
    assert set(t.by_client_id) == {b'\x01f'}
    # deleting the file host uncovers the ipam one
    t.update('file', [], [bytes([2, 0, 0, 0, 0, 1])])
    assert t.by_mac[bytes([2, 0, 0, 0, 0, 1])].ip == bytes([10, 0, 0, 2])
    assert set(t.by_client_id) == {b'\x01j'}
