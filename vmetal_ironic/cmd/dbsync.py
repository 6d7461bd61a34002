"""``vmetal-dbsync``: create or upgrade the IPAM database schema.

    vmetal-dbsync --config-file /etc/ironic/ironic.conf upgrade
    vmetal-dbsync --config-file /etc/ironic/ironic.conf version
"""

import sys

from oslo_config import cfg

from vmetal_ironic.cmd import common
from vmetal_ironic.db import migration
from vmetal_ironic import exception
from vmetal_ironic.ipam import store as store_mod


def _add_commands(subparsers):
    upgrade = subparsers.add_parser(
        'upgrade', help='Create or upgrade the schema to the newest revision.')
    upgrade.set_defaults(func=_upgrade)
    version = subparsers.add_parser(
        'version', help='Print the schema revision of the database.')
    version.set_defaults(func=_version)


def _upgrade(store):
    store.upgrade()
    print('IPAM schema at revision %s' % migration.head())


def _version(store):
    print(migration.current(store.db.reader) or 'none')


command_opt = cfg.SubCommandOpt('command', title='Commands',
                                handler=_add_commands)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = cfg.CONF
    conf.register_cli_opt(command_opt)
    try:
        common.parse_config(argv, 'vmetal-dbsync')
        store = store_mod.Store.from_conf(conf)
        try:
            conf.command.func(store)
        finally:
            store.close()
    except exception.VmetalError as exc:
        return common.fail(exc, common.status_for(exc))
    return common.EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
