"""``vmetal-ipam check-config`` and ``pool list|show|sync``."""

from vmetal_ironic.cmd import common
from vmetal_ironic.cmd.ipam import base
from vmetal_ironic.cmd.ipam import output

POOL_COLUMNS = ('pool', 'version', 'cidr', 'size', 'used', 'quarantined',
                'held', 'outside', 'free')
CHECK_COLUMNS = ('pool', 'version', 'cidr', 'gateway', 'size',
                 'resource_classes', 'default', 'drift')
DRIFT_COLUMNS = ('pool', 'field', 'configured', 'recorded')
SYNC_COLUMNS = ('pool',)


def _drift_text(drift):
    return '; '.join(
        'pool %(pool)s: %(field)s configured %(configured)s, recorded '
        '%(recorded)s' % d for d in drift)


class CheckConfig(base.Lister):
    """Validate the configured pools and compare them with the database.

    Exit status 1 when the database records other pool parameters than
    the configuration (``pool sync`` records the configuration).
    """

    def take_action(self, parsed_args):
        config = self.ipam.pool_config
        self.drift = [output.as_dict(d) for d in self.ipam.pool_drift()]
        fields = {}
        for d in self.drift:
            fields.setdefault(d['pool'], []).append(d['field'])
        return CHECK_COLUMNS, [
            (p.name, p.version, str(p.network),
             str(p.gateway) if p.gateway else None, p.space.size,
             list(p.resource_classes), p.name == config.default_pool,
             fields.get(p.name, []))
            for p in config.pools]

    def produce_output(self, parsed_args, column_names, data):
        data = list(data)
        super().produce_output(parsed_args, column_names, data)
        if parsed_args.formatter == 'table' and not self.drift:
            self.app.stdout.write('configuration OK: %d pool(s)\n'
                                  % len(data))
        return 0

    def run(self, parsed_args):
        status = super().run(parsed_args)
        if status == common.EXIT_OK and self.drift:
            return common.fail(
                'The database records other pools than the configuration: '
                '%s. "vmetal-ipam pool sync" records the configuration.'
                % _drift_text(self.drift), common.EXIT_FAILURE)
        return status


class PoolList(base.Lister):
    """Every pool with its usage."""

    def take_action(self, parsed_args):
        return output.rows(POOL_COLUMNS, self.ipam.usage())


class PoolShow(base.ShowOne):
    """One pool in full: its parameters and its usage."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='the pool')
        return parser

    def take_action(self, parsed_args):
        spec = self.ipam.pool_config.get(parsed_args.name)
        usage = self.ipam.usage(pool=parsed_args.name)[0].to_dict()
        record = spec.record().to_dict()
        record.update(usage)
        record['ranges'] = list(spec.ranges) or [str(spec.network)]
        record['exclude'] = list(spec.exclude)
        del record['generation']
        return output.one(record)


class PoolSync(base.Lister):
    """Record the configured pools in the database (the one writer).

    Lists the pools written: added, updated or retired; nothing when the
    database already records the configuration.
    """

    def take_action(self, parsed_args):
        return SYNC_COLUMNS, [(name,) for name in self.ipam.sync_pools()]
