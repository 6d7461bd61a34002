"""``vmetal-dbsync``: create or upgrade the IPAM database schema.

    vmetal-dbsync --config-file /etc/ironic/ironic.conf upgrade
    vmetal-dbsync --config-file /etc/ironic/ironic.conf version

``upgrade`` also records the configured pools (``[vmetal_ipam]pools``):
it is one of the two acts that write the pool table (the other is
``vmetal-ipam pool sync``). For a SQLite database it creates the
database's directory (mode 0750) when it does not exist.
"""

import os
import sys

from oslo_config import cfg

from vmetal_ironic.cmd import common
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic import exception
from vmetal_ironic.ipam import manager as manager_mod

DIRECTORY_MODE = 0o750


def _add_commands(subparsers):
    upgrade = subparsers.add_parser(
        'upgrade', help='Create or upgrade the schema to the newest '
        'revision, then record the configured pools.')
    upgrade.set_defaults(func=_upgrade)
    version = subparsers.add_parser(
        'version', help='Print the schema revision of the database.')
    version.set_defaults(func=_version)


def make_sqlite_directory(url):
    """Create the directory of a SQLite database URL if it is missing.

    :returns: the directory created, or None.
    :raises: StoreError naming the directory when it cannot be created.
    """
    path = db_api.sqlite_path(url)
    if not path:
        return None
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(directory):
        return None
    try:
        os.makedirs(directory, mode=DIRECTORY_MODE)
    except OSError as exc:
        raise exception.StoreError(
            reason='cannot create the directory %s of the SQLite database: '
                   '%s' % (directory, exc.strerror or exc))
    return directory


def _upgrade(conf):
    created = make_sqlite_directory(conf.vmetal_database.connection)
    if created:
        print('Created %s' % created)
    database = db_api.Database.from_conf(conf)
    try:
        migration.upgrade(database.writer)
        print('IPAM schema at revision %s' % migration.head())
        mgr = manager_mod.IPAMManager(conf, database=database)
        if not mgr.pool_config.pools:
            print('No pools configured ([vmetal_ipam]pools): the recorded '
                  'pools are left as they are')
            return
        written = mgr.sync_pools()
        print('Pools recorded: %s%s' % (
            ', '.join(p.name for p in mgr.pool_config.pools),
            ' (changed: %s)' % ', '.join(written) if written else
            ' (unchanged)'))
    finally:
        database.dispose()


def _version(conf):
    database = db_api.Database.from_conf(conf)
    try:
        print(migration.current(database.reader) or 'none')
    finally:
        database.dispose()


command_opt = cfg.SubCommandOpt('command', title='Commands',
                                handler=_add_commands)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = cfg.CONF
    conf.register_cli_opt(command_opt)
    try:
        common.parse_config(argv, 'vmetal-dbsync')
        conf.command.func(conf)
    except exception.VmetalError as exc:
        return common.fail(exc, common.status_for(exc))
    return common.EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
