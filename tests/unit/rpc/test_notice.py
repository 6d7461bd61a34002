"""The change notice payload: versioned, plain JSON, strictly checked."""

import json

import pytest

from vmetal_ironic.rpc import notice


def test_round_trip_is_plain_json():
    n = notice.Notice(42, ('52:54:00:00:00:01', '52:54:00:00:00:02'))
    payload = json.loads(json.dumps(n.to_dict()))
    assert payload == {'version': '1.0', 'generation': 42,
                       'macs': ['52:54:00:00:00:01', '52:54:00:00:00:02']}
    assert notice.Notice.from_dict(payload) == n


def test_a_newer_minor_version_with_more_fields_is_read():
    n = notice.Notice.from_dict({'version': '1.7', 'generation': 3,
                                 'macs': [], 'pool': 'prov'})
    assert n == notice.Notice(3, ())


def test_too_many_macs_names_none():
    macs = tuple('52:54:00:00:%02x:%02x' % divmod(i, 256)
                 for i in range(notice.MAX_MACS + 1))
    assert notice.Notice(9, macs).to_dict()['macs'] == []


@pytest.mark.parametrize('payload', [
    None, [], 'x', {'generation': 1},
    {'version': '2.0', 'generation': 1, 'macs': []},
    {'version': 1, 'generation': 1, 'macs': []},
    {'version': '1.0', 'generation': '1', 'macs': []},
    {'version': '1.0', 'generation': True, 'macs': []},
    {'version': '1.0', 'generation': -1, 'macs': []},
    {'version': '1.0', 'generation': 1, 'macs': 'aa'},
    {'version': '1.0', 'generation': 1, 'macs': [1]},
])
def test_invalid_payloads_are_refused(payload):
    with pytest.raises(notice.InvalidNotice):
        notice.Notice.from_dict(payload)
