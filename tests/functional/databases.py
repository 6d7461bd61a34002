"""Throw-away databases on the machine's PostgreSQL and MariaDB.

Each test gets a database of its own, created here and dropped afterwards,
so tests never see each other's rows and never touch anything else.

The servers and the credentials come from the environment (doc/testing.md)::

    VMETAL_TEST_PG_URL     default postgresql://postgres@127.0.0.1:5432/test
    VMETAL_TEST_MYSQL_URL  default mysql://root@127.0.0.1:3306/

The user needs the right to create and drop databases; the database named
in the PostgreSQL URL is the one the admin connection opens.
"""

import contextlib
import os
import urllib.parse
import uuid

BACKENDS = ('sqlite', 'postgresql', 'mysql')

DEFAULT_PG_URL = 'postgresql://postgres@127.0.0.1:5432/test'
DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/'


def _server(variable, default, port):
    """host, port, user, password and database of a server URL."""
    url = urllib.parse.urlsplit(os.environ.get(variable) or default)
    return {'host': url.hostname or '127.0.0.1', 'port': url.port or port,
            'user': urllib.parse.unquote(url.username or ''),
            'password': urllib.parse.unquote(url.password or ''),
            'database': url.path.lstrip('/')}


def pg_server():
    return _server('VMETAL_TEST_PG_URL', DEFAULT_PG_URL, 5432)


def mysql_server():
    return _server('VMETAL_TEST_MYSQL_URL', DEFAULT_MYSQL_URL, 3306)


def _credentials(server):
    user = urllib.parse.quote(server['user'], safe='')
    if server['password']:
        user += ':' + urllib.parse.quote(server['password'], safe='')
    return user


def _pg_admin():
    import psycopg2
    s = pg_server()
    connection = psycopg2.connect(host=s['host'], port=s['port'],
                                  user=s['user'], password=s['password'],
                                  dbname=s['database'] or 'postgres')
    connection.autocommit = True
    return connection


def _mysql_admin():
    import pymysql
    s = mysql_server()
    return pymysql.connect(autocommit=True, host=s['host'], port=s['port'],
                           user=s['user'], password=s['password'])


@contextlib.contextmanager
def temporary_database(backend, directory):
    """Yield the SQLAlchemy URL of a new empty database of ``backend``."""
    name = 'vmetal_test_%s' % uuid.uuid4().hex[:12]
    if backend == 'sqlite':
        yield 'sqlite:///%s' % (directory / ('%s.sqlite' % name))
        return
    if backend == 'postgresql':
        s = pg_server()
        admin = _pg_admin()
        with admin.cursor() as cursor:
            cursor.execute('CREATE DATABASE %s' % name)
        try:
            yield 'postgresql+psycopg2://%s@%s:%d/%s' % (
                _credentials(s), s['host'], s['port'], name)
        finally:
            with admin.cursor() as cursor:
                cursor.execute('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                               % name)
            admin.close()
        return
    if backend == 'mysql':
        s = mysql_server()
        admin = _mysql_admin()
        with admin.cursor() as cursor:
            cursor.execute('CREATE DATABASE %s CHARACTER SET utf8mb4' % name)
        try:
            yield 'mysql+pymysql://%s@%s:%d/%s?charset=utf8mb4' % (
                _credentials(s), s['host'], s['port'], name)
        finally:
            with admin.cursor() as cursor:
                cursor.execute('DROP DATABASE IF EXISTS %s' % name)
            admin.close()
        return
    raise ValueError(backend)


def active_allocations(url):
    """(node, address) of every active IPAM allocation at ``url``."""
    import sqlalchemy as sa

    from vmetal_ironic.db import api as db_api
    from vmetal_ironic.db import models
    record = models.AllocationRecord
    database = db_api.Database(url)
    try:
        with database.reader.connect() as connection:
            return connection.execute(sa.select(
                record.node_uuid, record.address).where(
                    record.state == 'active')).all()
    finally:
        database.dispose()
