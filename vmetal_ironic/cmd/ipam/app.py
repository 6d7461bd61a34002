"""``vmetal-ipam``: the operator's view of pools, allocations, reservations.

A cliff application; its commands are the ``vmetal_ironic.cli`` entry
points::

    vmetal-ipam [--config-file F] check-config
    vmetal-ipam [--config-file F] pool list | pool show NAME | pool sync
    vmetal-ipam [--config-file F] allocation list [--pool P]
    vmetal-ipam [--config-file F] allocation show NODE
    vmetal-ipam [--config-file F] allocation create NODE [--pool P |
                                    --resource-class RC] [--scope S]
    vmetal-ipam [--config-file F] allocation pin NODE IP [--pool P]
    vmetal-ipam [--config-file F] allocation release NODE [--forget]
    vmetal-ipam [--config-file F] reservation list [--node NODE]

Output options follow the command: ``-f table`` (default), ``-f json``,
``-f value``, ``-f csv``, ``-f yaml``, ``-c COLUMN`` (repeatable). Exit
status: 0 success, 1 operational failure, 2 bad input or configuration; a
failure prints one line to stderr.
"""

import sys

from cliff import app
from cliff import commandmanager
import pbr.version

from vmetal_ironic.cmd import common
from vmetal_ironic.ipam import manager as manager_mod
from vmetal_ironic.ipam import pools as pools_mod

COMMANDS = 'vmetal_ironic.cli'


class IPAMApp(app.App):
    """The ``vmetal-ipam`` application."""

    def __init__(self):
        super().__init__(
            description='Pools, allocations and DHCP reservations of '
                        'vmetal-ironic.',
            version=pbr.version.VersionInfo('vmetal-ironic').version_string(),
            command_manager=commandmanager.CommandManager(COMMANDS),
            deferred_help=True)
        self._manager = None
        self._status = None

    def build_option_parser(self, description, version,
                            argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        parser.add_argument('--config-file', action='append', default=[],
                            metavar='PATH',
                            help='configuration file (repeatable)')
        parser.add_argument('--config-dir', metavar='DIR',
                            help='directory of *.conf files')
        return parser

    def configure_logging(self):
        """oslo.log sets logging up, from the configuration (:meth:`ipam`)."""

    def ipam(self):
        """The IPAM manager of the configuration, made on first use.

        :raises: exception.ConfigError (unreadable file, invalid pools)
            before any database I/O.
        """
        if self._manager is None:
            oslo_args = []
            for path in self.options.config_file:
                oslo_args += ['--config-file', path]
            if self.options.config_dir:
                oslo_args += ['--config-dir', self.options.config_dir]
            if self.options.log_file:
                oslo_args += ['--log-file', self.options.log_file]
            if self.options.debug:
                oslo_args.append('--debug')
            conf = common.parse_config(
                oslo_args, 'vmetal-ipam',
                default_log_level=['alembic=WARN', 'vmetal_ironic=WARN'])
            pools_mod.load_pools(conf)
            self._manager = manager_mod.IPAMManager(conf)
        return self._manager

    def run_subcommand(self, argv):
        try:
            self.command_manager.find_command(argv)
        except ValueError:
            return common.fail(
                'vmetal-ipam: "%s" is not a command; see "vmetal-ipam help"'
                % ' '.join(argv), common.EXIT_BAD_INPUT)
        return super().run_subcommand(argv)

    def interact(self):
        self._status = common.fail(
            'vmetal-ipam: a command is required; see "vmetal-ipam help"',
            common.EXIT_BAD_INPUT)

    def clean_up(self, cmd, result, err):
        if self._manager is not None:
            self._manager.close()
            self._manager = None

    def run(self, argv):
        status = super().run(argv)
        return status if self._status is None else self._status


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        return IPAMApp().run(list(argv))
    except SystemExit as exc:   # argparse: --help, --version, usage
        return exc.code


if __name__ == '__main__':
    sys.exit(main())
