"""The one schema check of every opener (db/checks.py)."""

import pytest

from vmetal_ironic.db import checks
from vmetal_ironic import exception


class FakeConnection:
    """An adapter connection whose version table holds ``versions``."""

    def __init__(self, versions=None):
        self.versions = versions

    def has_table(self, name):
        assert name == checks.VERSION_TABLE
        return self.versions is not None

    def rows(self, statement):
        assert checks.VERSION_TABLE in statement
        return [(v,) for v in self.versions]


def test_a_schema_at_the_head_passes():
    checks.check_schema(FakeConnection([checks.expected_head()]))


@pytest.mark.parametrize('versions,current', [
    (None, 'none'), ([], 'none'), (['0001'], '0001'),
    (['b', 'a'], 'a,b')])
def test_any_other_schema_is_not_current(versions, current):
    with pytest.raises(exception.SchemaNotCurrent) as info:
        checks.check_schema(FakeConnection(versions))
    assert current in str(info.value)
    assert checks.expected_head() in str(info.value)


def test_the_head_is_the_one_no_migration_revises(tmp_path):
    for name, rev, down in (('a.py', 'r1', None), ('b.py', 'r2', 'r1'),
                            ('c.py', 'r3', 'r2')):
        text = "revision = '%s'\n" % rev
        if down:
            text += "down_revision = '%s'\n" % down
        (tmp_path / name).write_text(text)
    assert checks.head_revision(str(tmp_path)) == 'r3'
    (tmp_path / 'd.py').write_text("revision = 'r4'\ndown_revision = 'r1'\n")
    with pytest.raises(RuntimeError, match='heads'):
        checks.head_revision(str(tmp_path))
