"""The callback registry's state file: written on change, loaded at start."""

import json
import os
import stat

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.http import heartbeat as hb
from vmetal_ironic.agent.http import registry
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent.http import tls

NODE = '3f1c0a5e-7b1d-4e0a-9a53-0c1d5e6f7a01'
MAC = '52:54:00:cc:00:01'
IP = '172.22.0.61'
RID = 'a' * 26
RID2 = 'b' * 26


def _table(node=NODE, ip=IP):
    return helpers.table([{'mac': MAC, 'ip': ip, 'node_uuid': node}])


def _target(port=9999, scheme='http', pinned=None):
    return hb.Target(NODE, IP, port, scheme, bytes.fromhex('525400cc0001'),
                     pinned)


def _contexts(target):
    return tls.pinned_context(target.pinned_pem) if target.pinned_pem \
        else None


def test_a_registered_ramdisk_survives_a_restart(tmp_path):
    reg = registry.Registry(_table(), state_dir=str(tmp_path))
    reg.register(RID, _target(), None)
    path = tmp_path / registry.STATE_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = registry.Registry(_table(), state_dir=str(tmp_path),
                              context_for=_contexts)
    assert again.load() == 1
    entry = again.resolve(RID)
    assert entry.target == _target() and entry.context is None
    assert [p.name for p in tmp_path.iterdir()] == [registry.STATE_FILE]


def test_a_pinned_https_ramdisk_gets_its_context_back(tmp_path):
    pem = tls.generate_material(IP).cert_pem
    reg = registry.Registry(_table(), state_dir=str(tmp_path))
    reg.register(RID, _target(9443, 'https', pem), object())
    again = registry.Registry(_table(), state_dir=str(tmp_path),
                              context_for=_contexts)
    again.load()
    entry = again.resolve(RID)
    assert entry.target.pinned_pem == pem
    assert entry.context is not None
    assert entry.context.verify_mode == tls.ssl.CERT_REQUIRED


def test_loaded_entries_are_still_checked_against_the_table(tmp_path):
    registry.Registry(_table(), state_dir=str(tmp_path)).register(
        RID, _target(), None)
    moved = registry.Registry(_table(ip='172.22.0.62'),
                              state_dir=str(tmp_path))
    moved.load()
    refusal = moved.resolve(RID)
    assert isinstance(refusal, routes.Refusal) and refusal.status == 403
    # Forgotten, in memory and in the file.
    assert moved.resolve(RID).status == 404
    fresh = registry.Registry(_table(), state_dir=str(tmp_path))
    assert fresh.load() == 0


def test_written_only_when_an_entry_is_new_or_changed(tmp_path,
                                                      monkeypatch):
    reg = registry.Registry(_table(), state_dir=str(tmp_path))
    saves = []
    real = reg.save
    monkeypatch.setattr(reg, 'save', lambda: (saves.append(1), real()))
    reg.register(RID, _target(), None)
    reg.register(RID, _target(), None)          # a heartbeat refreshes
    assert len(saves) == 1
    reg.register(RID, _target(9998), None)
    assert len(saves) == 2


def test_an_invalid_file_is_ignored(tmp_path):
    path = tmp_path / registry.STATE_FILE
    reg = registry.Registry(_table(), state_dir=str(tmp_path))
    for text in ('not json', '[]', '{"version": 99, "entries": []}',
                 '{"version": 1, "entries": {}}', '\xff'):
        path.write_text(text, errors='surrogateescape')
        assert reg.load() == 0
    good = {'id': RID, 'node_uuid': NODE, 'ip': IP, 'port': 9999,
            'scheme': 'http', 'mac': '525400cc0001', 'pinned_pem': None}
    bad = [dict(good, id='x'), dict(good, ip='not-an-ip'),
           dict(good, scheme='gopher'), dict(good, mac='zz'),
           dict(good, mac='00'), dict(good, port='a'), 'str', None,
           dict(good, pinned_pem=7), {'id': RID2}]
    path.write_text(json.dumps({'version': 1, 'entries': bad + [good]}))
    assert reg.load() == 1 and len(reg) == 1
    assert reg.resolve(RID).target == _target()


def test_an_oversized_file_is_ignored(tmp_path, monkeypatch):
    path = tmp_path / registry.STATE_FILE
    path.write_text(' ' * 200)
    monkeypatch.setattr(registry, 'MAX_STATE_BYTES', 100)
    assert registry.Registry(_table(), state_dir=str(tmp_path)).load() == 0


def test_the_file_is_bounded_most_recent_first(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, 'MAX_STATE_BYTES', 400)
    reg = registry.Registry(_table(), state_dir=str(tmp_path))
    ids = [c * 26 for c in 'abcdefg']
    for rid in ids:
        reg.register(rid, _target(), None)
    assert os.path.getsize(tmp_path / registry.STATE_FILE) <= 400
    again = registry.Registry(_table(), state_dir=str(tmp_path))
    kept = again.load()
    assert 0 < kept < len(ids)
    assert set(again._entries) == set(ids[-kept:])


def test_in_memory_only_without_a_state_dir(tmp_path):
    reg = registry.Registry(_table())
    reg.register(RID, _target(), None)
    assert reg.load() == 0 and reg.path is None


def test_an_unwritable_state_dir_keeps_serving(tmp_path):
    missing = tmp_path / 'gone'
    reg = registry.Registry(_table(), state_dir=str(missing))
    reg.register(RID, _target(), None)
    assert reg.resolve(RID).target == _target()


def test_active_active_a_miss_rereads_the_shared_file(tmp_path):
    # Replica 1 registers; replica 2 (same state_dir) started before that.
    one = registry.Registry(_table(), state_dir=str(tmp_path))
    two = registry.Registry(_table(), state_dir=str(tmp_path))
    two.shared = True
    assert two.load() == 0
    one.register(RID, _target(), None)
    assert two.resolve(RID).target == _target()
    # unknown ids still get 404, without re-reading an unchanged file
    assert isinstance(two.resolve(RID2), routes.Refusal)
    assert two.resolve(RID2).status == 404


def test_one_agent_does_not_reread_on_a_miss(tmp_path):
    one = registry.Registry(_table(), state_dir=str(tmp_path))
    two = registry.Registry(_table(), state_dir=str(tmp_path))
    one.register(RID, _target(), None)
    assert two.resolve(RID).status == 404


def test_active_active_the_new_holder_keeps_the_old_holders_entries(tmp_path):
    # Replica 2 takes over and registers a ramdisk before any miss: its
    # write must keep what replica 1 registered.
    one = registry.Registry(_table(), state_dir=str(tmp_path))
    two = registry.Registry(_table(), state_dir=str(tmp_path))
    two.shared = True
    two.load()
    one.register(RID, _target(), None)
    two.register(RID2, _target(9998), None)
    fresh = registry.Registry(_table(), state_dir=str(tmp_path))
    assert fresh.load() == 2
    assert fresh.resolve(RID).target == _target()
    assert fresh.resolve(RID2).target == _target(9998)
