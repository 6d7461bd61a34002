"""What every ``vmetal-ipam`` command shares: errors, input checks, output.

A command raises the project's exceptions; :class:`CommandMixin` turns them
into one line on stderr and the exit status (1 operational failure, 2 bad
input or configuration). Argument errors are one line and status 2 too.
"""

import argparse
import functools

from cliff import lister
from cliff import show

from vmetal_ironic.cmd import common
from vmetal_ironic import exception
from vmetal_ironic.ipam.scope import Scope

LIST_FORMATTERS = 'vmetal_ironic.cli.formatter.list'
SHOW_FORMATTERS = 'vmetal_ironic.cli.formatter.show'

# The allocation scopes an operator may name (``--scope``).
SCOPES = tuple(scope.value for scope in Scope)


def node_id(text):
    """argparse type of a node UUID or name: printable text only."""
    if not text or not text.isprintable():
        raise argparse.ArgumentTypeError(
            '"%s" is not a node identifier (printable characters only)'
            % common.printable(text))
    return text


def _usage_error(parser, message):
    parser.exit(common.EXIT_BAD_INPUT, '%s: %s\n' % (
        parser.prog, common.printable(message.replace('\n', ' '))))


class CommandMixin:
    """One-line errors and exit statuses for a cliff command."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.error = functools.partial(_usage_error, parser)
        return parser

    def run(self, parsed_args):
        try:
            return super().run(parsed_args) or common.EXIT_OK
        except exception.VmetalError as exc:
            return common.fail(exc, common.status_for(exc))
        except Exception as exc:
            if self.app_args.debug:
                raise
            return common.fail('vmetal-ipam: unexpected error (--debug '
                               'shows where): %s' % exc, common.EXIT_FAILURE)

    @property
    def ipam(self):
        """The IPAM manager of the application (opened on first use)."""
        return self.app.ipam()


class Lister(CommandMixin, lister.Lister):
    """A command that prints rows (``-f table|json|value|csv|yaml``)."""

    @property
    def formatter_namespace(self):
        return LIST_FORMATTERS


class ShowOne(CommandMixin, show.ShowOne):
    """A command that prints one record."""

    @property
    def formatter_namespace(self):
        return SHOW_FORMATTERS
