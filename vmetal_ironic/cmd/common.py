"""Shared start-up of the console scripts: parse config, set up logging."""

import sys

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic import conf as vmetal_conf
from vmetal_ironic import exception

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def parse_config(argv, prog, description=None, default_log_level=None):
    """Parse ``--config-file`` and friends into the global CONF.

    :returns: the global CONF.
    :raises: exception.ConfigError for unreadable or invalid files.
    """
    conf = vmetal_conf.CONF
    log.register_options(conf)
    if default_log_level:
        log.set_defaults(default_log_levels=log.get_default_log_levels()
                         + default_log_level)
    try:
        conf(argv, project='vmetal-ironic', prog=prog,
             description=description, default_config_files=[])
    except cfg.ConfigFilesNotFoundError as exc:
        raise exception.ConfigError(
            reason='cannot read %s' % ', '.join(exc.config_files))
    except (cfg.ConfigFileParseError, cfg.Error) as exc:
        raise exception.ConfigError(reason=str(exc))
    log.setup(conf, 'vmetal-ironic')
    return conf


def printable(text):
    """``text`` with every non-printable character escaped (``\\x1b``).

    What a user typed or a database holds never reaches the terminal raw:
    a newline cannot forge a second line, an ANSI escape cannot recolour
    or rewrite the screen.
    """
    return ''.join(
        ch if ch.isprintable()
        else ch.encode('unicode_escape').decode('ascii')
        for ch in str(text))


def fail(message, status):
    """Print a one-line message to stderr and return ``status``."""
    sys.stderr.write('%s\n' % printable(str(message).replace('\n', ' ')))
    return status


def status_for(exc):
    """The exit status for a vmetal exception: 2 bad input, 1 otherwise."""
    if isinstance(exc, exception.InvalidInput):
        return EXIT_BAD_INPUT
    return EXIT_FAILURE
