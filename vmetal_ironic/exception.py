"""The project's exceptions.

One base class, :class:`VmetalError`. The Ironic drivers convert these to
Ironic exceptions at the driver boundary; the CLI turns them into a one-line
message and an exit status.
"""

from vmetal_ironic.i18n import _


class VmetalError(Exception):
    """Base of every vmetal-ironic error; ``msg_fmt`` takes the kwargs."""

    msg_fmt = _('An unknown error occurred.')

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            message = self.msg_fmt % kwargs
        super().__init__(message)


class InvalidInput(VmetalError):
    """Bad input from a user: configuration, a CLI argument, API data."""

    msg_fmt = _('Invalid input: %(reason)s')


class ConfigError(InvalidInput):
    msg_fmt = _('Invalid configuration: %(reason)s')


class PoolConfigError(ConfigError):
    msg_fmt = _('Invalid pool "%(pool)s": option %(option)s = '
                '"%(value)s": %(reason)s')


class UnknownPool(InvalidInput):
    msg_fmt = _('Unknown pool "%(pool)s".')


class NoPoolForNode(InvalidInput):
    msg_fmt = _('No address pool for node %(node)s: %(reason)s')


class InvalidAddress(InvalidInput):
    msg_fmt = _('Invalid address "%(address)s": %(reason)s')


class NotFound(VmetalError):
    msg_fmt = _('Not found: %(what)s')


class AllocationNotFound(NotFound):
    msg_fmt = _('Node %(node)s has no allocation%(where)s.')


class Conflict(VmetalError):
    msg_fmt = _('Conflict: %(reason)s')


class AddressInUse(Conflict):
    msg_fmt = _('Address %(address)s of pool "%(pool)s" is held by node '
                '%(holder)s.')


class PoolExhausted(VmetalError):
    """No free address; retryable once an address is released."""

    msg_fmt = _('Pool "%(pool)s" is exhausted: all %(size)s addresses are '
                'allocated or in quarantine.')


class StoreError(VmetalError):
    msg_fmt = _('IPAM database error: %(reason)s')


class SchemaNotCurrent(StoreError):
    msg_fmt = _('The IPAM database schema is at revision %(current)s, '
                'expected %(expected)s: run "vmetal-dbsync --config-file '
                '<file> upgrade".')


class ReservationFileError(ConfigError):
    """The DHCP agent's reservations file is unreadable or invalid."""

    msg_fmt = _('Invalid reservations file %(path)s: %(reason)s')
