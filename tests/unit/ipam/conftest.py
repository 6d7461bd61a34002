"""A migrated SQLite IPAM database in a temporary directory."""

import pytest

from tests import confutils
from tests.fixtures import ipam as ipam_fixtures
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.ipam import manager

POOLS = ipam_fixtures.POOLS


@pytest.fixture
def sqlite_url(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'ipam.sqlite')
    database = db_api.Database(url)
    migration.upgrade(database.writer)
    database.dispose()
    return url


@pytest.fixture
def make_mgr(sqlite_url, tmp_path):
    """make_mgr(text=POOLS, sync=True) -> (manager, database)."""
    made = []

    def _make(text=POOLS, sync=True, name='vmetal.conf'):
        conf = confutils.conf_from_text(text, tmp_path, name=name)
        database = db_api.Database(sqlite_url)
        mgr = manager.IPAMManager(conf, database=database)
        if sync:
            mgr.sync_pools()
        made.append(mgr)
        return mgr, database

    yield _make
    for mgr in made:
        mgr.close()


@pytest.fixture
def mgr(make_mgr):
    return make_mgr()[0]
