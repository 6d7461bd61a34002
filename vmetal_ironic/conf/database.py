"""Options of the ``[vmetal_database]`` group: the IPAM store.

The drivers run inside Ironic, whose ``[database]`` group is Ironic's own
database, so the IPAM store has a group of its own (Nova's
``[api_database]`` is the precedent). The options are oslo.db's.
"""

import copy

from oslo_db import options as db_options

from vmetal_ironic.i18n import _

GROUP = 'vmetal_database'

DEFAULT_CONNECTION = 'sqlite:////var/lib/vmetal-ironic/ipam.sqlite'


def _opts():
    result = []
    for opt in db_options.database_opts:
        opt = copy.deepcopy(opt)
        # oslo.db's deprecated names point to [DEFAULT] and [database]:
        # they belong to the host's own database, never to ours.
        opt.deprecated_opts = []
        if opt.dest == 'connection':
            opt.default = DEFAULT_CONNECTION
            opt.help = _('SQLAlchemy URL of the IPAM database: a SQLite '
                         'file for one machine, PostgreSQL or MySQL/MariaDB '
                         'when several conductors and agents share it.')
        result.append(opt)
    return result


opts = _opts()


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return [(GROUP, opts)]
