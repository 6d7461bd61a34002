"""Throw-away databases on the machine's PostgreSQL and MariaDB.

Each test gets a database of its own, created here and dropped afterwards,
so tests never see each other's rows and never touch anything else.
"""

import contextlib
import uuid

BACKENDS = ('sqlite', 'postgresql', 'mysql')

PG = {'host': '127.0.0.1', 'port': 5432, 'user': 'postgres',
      'dbname': 'test'}
MYSQL = {'host': '127.0.0.1', 'port': 3306, 'user': 'root', 'password': ''}


def _pg_admin():
    import psycopg2
    connection = psycopg2.connect(**PG)
    connection.autocommit = True
    return connection


def _mysql_admin():
    import pymysql
    return pymysql.connect(autocommit=True, **MYSQL)


@contextlib.contextmanager
def temporary_database(backend, directory):
    """Yield the SQLAlchemy URL of a new empty database of ``backend``."""
    name = 'vmetal_test_%s' % uuid.uuid4().hex[:12]
    if backend == 'sqlite':
        yield 'sqlite:///%s' % (directory / ('%s.sqlite' % name))
        return
    if backend == 'postgresql':
        admin = _pg_admin()
        with admin.cursor() as cursor:
            cursor.execute('CREATE DATABASE %s' % name)
        try:
            yield 'postgresql+psycopg2://%s@%s:%d/%s' % (
                PG['user'], PG['host'], PG['port'], name)
        finally:
            with admin.cursor() as cursor:
                cursor.execute('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                               % name)
            admin.close()
        return
    if backend == 'mysql':
        admin = _mysql_admin()
        with admin.cursor() as cursor:
            cursor.execute('CREATE DATABASE %s CHARACTER SET utf8mb4' % name)
        try:
            yield 'mysql+pymysql://%s@%s:%d/%s?charset=utf8mb4' % (
                MYSQL['user'], MYSQL['host'], MYSQL['port'], name)
        finally:
            with admin.cursor() as cursor:
                cursor.execute('DROP DATABASE IF EXISTS %s' % name)
            admin.close()
        return
    raise ValueError(backend)
