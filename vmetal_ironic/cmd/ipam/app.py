"""``vmetal-ipam``: the operator's view of pools, allocations, reservations.

    vmetal-ipam --config-file F check-config
    vmetal-ipam --config-file F pool list | pool show NAME
    vmetal-ipam --config-file F allocation list [--pool P]
    vmetal-ipam --config-file F allocation show NODE
    vmetal-ipam --config-file F allocation create NODE [--pool P |
                                                        --resource-class RC]
    vmetal-ipam --config-file F allocation pin NODE IP [--pool P]
    vmetal-ipam --config-file F allocation release NODE [--forget]
    vmetal-ipam --config-file F reservation list [--node NODE]

Output is a table, or JSON with ``--format json``. Exit status: 0 success,
1 runtime failure, 2 bad input; a failure prints one line to stderr.
"""

import argparse
import json
import sys

from vmetal_ironic.cmd import common
from vmetal_ironic import exception
from vmetal_ironic.ipam import manager as manager_mod
from vmetal_ironic.ipam import pools as pools_mod


def format_table(columns, rows):
    """Plain text table: a header, a rule, one line per row."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells])
              for i, c in enumerate(columns)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             '  '.join('-' * w for w in widths)]
    lines += ['  '.join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
              for r in cells]
    return '\n'.join(lines)


def _cell(value):
    if value is None:
        return '-'
    if isinstance(value, (list, tuple)):
        return ','.join(_cell(v) for v in value) or '-'
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


class Output:
    def __init__(self, fmt):
        self.fmt = fmt

    def rows(self, columns, rows):
        if self.fmt == 'json':
            print(json.dumps(rows, indent=2, sort_keys=True, default=str))
        else:
            print(format_table(columns, rows))

    def record(self, record):
        if self.fmt == 'json':
            print(json.dumps(record, indent=2, sort_keys=True, default=str))
        else:
            self.rows(['field', 'value'],
                      [{'field': k, 'value': v} for k, v in record.items()])


POOL_COLUMNS = ['pool', 'version', 'cidr', 'size', 'used', 'quarantined',
                'held', 'outside', 'free']
ALLOCATION_COLUMNS = ['pool', 'node_uuid', 'address', 'state', 'scope',
                      'pinned', 'allocated_at', 'released_at']
RESERVATION_COLUMNS = ['mac', 'node_uuid', 'pool', 'address', 'hostname',
                       'generation', 'boot_profile']


def _check_config(args, mgr, out):
    config = mgr.pool_config
    rows = [{'pool': p.name, 'version': p.version, 'cidr': str(p.network),
             'gateway': str(p.gateway) if p.gateway else None,
             'size': p.space.size,
             'resource_classes': list(p.resource_classes),
             'default': p.name == config.default_pool}
            for p in config.pools]
    if args.format == 'json':
        out.rows(None, rows)
    else:
        print(format_table(['pool', 'version', 'cidr', 'gateway', 'size',
                            'resource_classes', 'default'], rows))
        print('configuration OK: %d pool(s)' % len(rows))


def _pool_list(args, mgr, out):
    out.rows(POOL_COLUMNS, [u.to_dict() for u in mgr.usage()])


def _pool_show(args, mgr, out):
    spec = mgr.pool_config.get(args.name)
    usage = mgr.usage(pool=args.name)[0].to_dict()
    record = spec.record().to_dict()
    record.update(usage)
    record['ranges'] = list(spec.ranges) or [str(spec.network)]
    record['exclude'] = list(spec.exclude)
    del record['generation']
    out.record(record)


def _allocation_list(args, mgr, out):
    out.rows(ALLOCATION_COLUMNS,
             [a.to_dict() for a in mgr.list_allocations(pool=args.pool)])


def _allocation_show(args, mgr, out):
    found = [a.to_dict() for a in mgr.list_allocations()
             if a.node_uuid == args.node]
    if not found:
        raise exception.AllocationNotFound(node=args.node, where='')
    out.rows(ALLOCATION_COLUMNS, found)


def _allocation_create(args, mgr, out):
    allocation = mgr.allocate(args.node, pool=args.pool,
                              resource_class=args.resource_class,
                              scope=args.scope)
    out.record(allocation.to_dict())


def _allocation_pin(args, mgr, out):
    out.record(mgr.pin(args.node, args.address, pool=args.pool).to_dict())


def _allocation_release(args, mgr, out):
    if args.forget:
        released = mgr.forget(args.node)
    else:
        released = mgr.release(args.node)
    if not released and not args.forget:
        raise exception.AllocationNotFound(node=args.node, where='')
    out.rows(ALLOCATION_COLUMNS, [a.to_dict() for a in released])


def _reservation_list(args, mgr, out):
    out.rows(RESERVATION_COLUMNS,
             [r.to_dict() for r in mgr.list_reservations(node_uuid=args.node)])


def build_parser():
    parser = argparse.ArgumentParser(
        prog='vmetal-ipam',
        description='Pools, allocations and DHCP reservations of '
                    'vmetal-ironic.')
    parser.add_argument('--config-file', action='append', default=[],
                        metavar='PATH', help='configuration file (repeatable)')
    parser.add_argument('--config-dir', metavar='DIR',
                        help='directory of *.conf files')
    parser.add_argument('--format', choices=['table', 'json'],
                        default='table', help='output format')
    parser.add_argument('--debug', action='store_true',
                        help='log debug messages')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True

    check = sub.add_parser('check-config', help='validate the pools')
    check.set_defaults(func=_check_config, needs_store=False)

    pool = sub.add_parser('pool', help='pools and their usage')
    pool_sub = pool.add_subparsers(dest='action', metavar='ACTION')
    pool_sub.required = True
    pool_sub.add_parser('list', help='every pool with its usage'
                        ).set_defaults(func=_pool_list)
    show = pool_sub.add_parser('show', help='one pool in full')
    show.add_argument('name')
    show.set_defaults(func=_pool_show)

    alloc = sub.add_parser('allocation', help='addresses of nodes')
    alloc_sub = alloc.add_subparsers(dest='action', metavar='ACTION')
    alloc_sub.required = True
    listing = alloc_sub.add_parser('list', help='allocations (all states)')
    listing.add_argument('--pool')
    listing.set_defaults(func=_allocation_list)
    show = alloc_sub.add_parser('show', help='the allocations of a node')
    show.add_argument('node')
    show.set_defaults(func=_allocation_show)
    create = alloc_sub.add_parser(
        'create', help='allocate an address for a node now (idempotent)')
    create.add_argument('node')
    which = create.add_mutually_exclusive_group()
    which.add_argument('--pool')
    which.add_argument('--resource-class')
    create.add_argument('--scope', help='deployment or node (default: '
                        '[vmetal_ipam]allocation_scope)')
    create.set_defaults(func=_allocation_create)
    pin = alloc_sub.add_parser('pin', help='give an address to a node')
    pin.add_argument('node')
    pin.add_argument('address')
    pin.add_argument('--pool')
    pin.set_defaults(func=_allocation_pin)
    release = alloc_sub.add_parser('release',
                                   help='release the addresses of a node')
    release.add_argument('node')
    release.add_argument('--forget', action='store_true',
                         help='also drop pins and the claim on the '
                              'addresses (the node is gone)')
    release.set_defaults(func=_allocation_release)

    res = sub.add_parser('reservation', help='DHCP reservations')
    res_sub = res.add_subparsers(dest='action', metavar='ACTION')
    res_sub.required = True
    listing = res_sub.add_parser('list', help='live reservations')
    listing.add_argument('--node')
    listing.set_defaults(func=_reservation_list)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    oslo_args = []
    for path in args.config_file:
        oslo_args += ['--config-file', path]
    if args.config_dir:
        oslo_args += ['--config-dir', args.config_dir]
    if args.debug:
        oslo_args.append('--debug')
    mgr = None
    try:
        conf = common.parse_config(
            oslo_args, 'vmetal-ipam',
            default_log_level=['alembic=WARN', 'vmetal_ironic=WARN'])
        mgr = manager_mod.IPAMManager(conf)
        pools_mod.load_pools(conf)  # bad pools: exit 2 before any I/O
        args.func(args, mgr, Output(args.format))
    except exception.VmetalError as exc:
        return common.fail(exc, common.status_for(exc))
    finally:
        if mgr is not None:
            mgr.close()
    return common.EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
