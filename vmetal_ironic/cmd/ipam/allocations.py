"""``vmetal-ipam allocation ...`` and ``reservation list``."""

from vmetal_ironic.cmd.ipam import base
from vmetal_ironic.cmd.ipam import output
from vmetal_ironic import exception

ALLOCATION_COLUMNS = ('pool', 'node_uuid', 'address', 'state', 'scope',
                      'pinned', 'allocated_at', 'released_at')
RESERVATION_COLUMNS = ('mac', 'ip_version', 'node_uuid', 'pool', 'address',
                       'hostname', 'generation', 'boot_profile')


def _node_argument(parser):
    parser.add_argument('node', type=base.node_id,
                        help='node UUID (or name)')


def _node_rows(node, allocations):
    """Rows of a node's allocations; none is an error (exit status 1)."""
    if not allocations:
        raise exception.AllocationNotFound(node=node, where='')
    return output.rows(ALLOCATION_COLUMNS, allocations)


def _scope_argument(parser, help):
    parser.add_argument('--scope', choices=base.SCOPES, help=help)


class AllocationList(base.Lister):
    """Allocations in every state."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--pool', help='only this pool')
        return parser

    def take_action(self, parsed_args):
        return output.rows(ALLOCATION_COLUMNS, self.ipam.list_allocations(
            pool=parsed_args.pool))


class AllocationShow(base.Lister):
    """The allocations of one node."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _node_argument(parser)
        return parser

    def take_action(self, parsed_args):
        return _node_rows(parsed_args.node, [
            a for a in self.ipam.list_allocations()
            if a.node_uuid == parsed_args.node])


class AllocationCreate(base.ShowOne):
    """Allocate an address for a node now (idempotent)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _node_argument(parser)
        which = parser.add_mutually_exclusive_group()
        which.add_argument('--pool', help='allocate from this pool')
        which.add_argument('--resource-class',
                           help='the pool serving this resource class')
        _scope_argument(parser, 'the allocation scope (default: '
                        '[vmetal_ipam]allocation_scope)')
        return parser

    def take_action(self, parsed_args):
        return output.one(self.ipam.allocate(
            parsed_args.node, pool=parsed_args.pool,
            resource_class=parsed_args.resource_class,
            scope=parsed_args.scope))


class AllocationPin(base.ShowOne):
    """Give a node a chosen address."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _node_argument(parser)
        parser.add_argument('address', help='the IP address')
        parser.add_argument('--pool', help='the pool of the address '
                            '(default: the pool whose network holds it)')
        return parser

    def take_action(self, parsed_args):
        return output.one(self.ipam.pin(
            parsed_args.node, parsed_args.address, pool=parsed_args.pool))


class AllocationRelease(base.Lister):
    """Release the addresses of a node (they go into quarantine)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _node_argument(parser)
        which = parser.add_mutually_exclusive_group()
        which.add_argument('--forget', action='store_true',
                           help='also drop pins and the claim on the '
                                'addresses (the node is gone)')
        _scope_argument(which, 'release only the allocation of this '
                        'scope (default: every scope)')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.forget:
            return output.rows(ALLOCATION_COLUMNS,
                               self.ipam.forget(parsed_args.node))
        return _node_rows(parsed_args.node, self.ipam.release(
            parsed_args.node, scope=parsed_args.scope))


class ReservationList(base.Lister):
    """The DHCP reservations in service."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--node', type=base.node_id,
                            help='only this node')
        return parser

    def take_action(self, parsed_args):
        return output.rows(RESERVATION_COLUMNS, self.ipam.list_reservations(
            node_uuid=parsed_args.node))
