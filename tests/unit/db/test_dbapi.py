"""Which URLs the agent's feed opens on the DB-API driver, and how."""

import pytest

from vmetal_ironic.db import dbapi


def _kwargs(url, parameters=None):
    target = dbapi.parse(url, parameters)
    return target.backend, target.kwargs


def test_sqlite_paths():
    assert _kwargs('sqlite:////var/lib/vmetal/ipam.sqlite') == (
        'sqlite', {'path': '/var/lib/vmetal/ipam.sqlite'})
    assert _kwargs('sqlite:///relative.sqlite') == (
        'sqlite', {'path': 'relative.sqlite'})
    assert _kwargs('sqlite+pysqlite:////x.db') == ('sqlite', {'path': '/x.db'})


def test_postgresql_as_sqlalchemy_passes_it_to_psycopg2():
    assert _kwargs('postgresql+psycopg2://u:p%40ss@db.example:5433/ipam'
                   '?sslmode=require') == ('postgresql', {
                       'host': 'db.example', 'port': 5433, 'user': 'u',
                       'password': 'p@ss', 'dbname': 'ipam',
                       'sslmode': 'require'})
    # the Unix socket as a query parameter, as the benchmark opens it
    assert _kwargs('postgresql://postgres@/ipam',
                   'host=/var/run/postgresql') == ('postgresql', {
                       'user': 'postgres', 'dbname': 'ipam',
                       'host': '/var/run/postgresql'})


def test_pymysql():
    assert _kwargs('mysql+pymysql://root:pw@127.0.0.1/ipam?charset=utf8'
                   '&connect_timeout=5') == ('mysql', {
                       'host': '127.0.0.1', 'user': 'root', 'password': 'pw',
                       'database': 'ipam', 'charset': 'utf8',
                       'connect_timeout': 5})


@pytest.mark.parametrize('url', [
    'sqlite://', 'sqlite:///:memory:', 'sqlite:///x.db?mode=ro',
    'sqlite+pysqlcipher:///x.db', 'postgresql+psycopg://u@h/db',
    'postgresql+pg8000://u@h/db', 'mysql://root@h/db',
    'mysql+mysqldb://root@h/db', 'mysql+pymysql://root@h/db?ssl_ca=/x',
    'mysql+pymysql://root@h/db?connect_timeout=soon',
    'postgresql://u@h:port/db', 'postgresql://u@h/db?a=1&a=2',
    'oracle://u@h/db'])
def test_other_urls_are_sqlalchemys(url):
    assert dbapi.parse(url) is None


def test_the_safe_url_hides_the_password():
    target = dbapi.parse('postgresql://u:secret@h/db')
    assert 'secret' not in target.safe_url and '***' in target.safe_url
