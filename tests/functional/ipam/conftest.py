import datetime

import pytest

from tests import confutils
from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.ipam import manager


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
    """make_manager(config_text) -> IPAMManager on a migrated database.

    The configuration's pools are recorded (the explicit act of
    ``vmetal-ipam pool sync``) before the manager is handed out.
    """
    made = []

    def _make(text, name='vmetal.conf', sync=True):
        conf = confutils.conf_from_text(text, tmp_path, name=name)
        database = db_api.Database(db_url)
        if not made:
            migration.upgrade(database.writer)
        mgr = manager.IPAMManager(conf, database=database, clock=clock)
        if sync:
            mgr.sync_pools()
        made.append(mgr)
        return mgr

    yield _make
    for mgr in made:
        mgr.close()
