import datetime

import pytest

from tests import confutils
from tests.functional import databases
from vmetal_ironic.ipam import manager
from vmetal_ironic.ipam import store as store_mod


class FakeClock:
    """Naive-UTC time that tests move by hand."""

    def __init__(self):
        self.now = datetime.datetime(2026, 1, 1, 12, 0, 0)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture(params=databases.BACKENDS)
def db_url(request, tmp_path):
    with databases.temporary_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_manager(db_url, tmp_path, clock):
    """make_manager(config_text) -> IPAMManager on a migrated database."""
    made = []

    def _make(text, name='vmetal.conf'):
        conf = confutils.conf_from_text(text, tmp_path, name=name)
        store = store_mod.Store(db_url, clock=clock)
        if not made:
            store.upgrade()
        mgr = manager.IPAMManager(conf, store=store)
        made.append(mgr)
        return mgr

    yield _make
    for mgr in made:
        mgr.close()
