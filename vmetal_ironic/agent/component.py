"""The contract between the agent service and its components.

A component is a part of the agent with a life cycle: the reservation
sources, the DHCP server, and the optional servers on the provisioning
segment (TFTP, the HTTP proxy). The optional ones are found through the
entry point namespace :data:`NAMESPACE`: each entry point names a
:class:`ComponentFactory`, a callable ``create_components(conf, table)``
that reads the configuration and returns the components to run (none when
they are turned off). Components themselves take values (addresses,
ports, paths, limits), never the configuration object.

Entry points in ``setup.cfg``::

    [entry_points]
    vmetal_ironic.agent.components =
        tftp = vmetal_ironic.agent.tftp.server:create_components
        http_proxy = vmetal_ironic.agent.http.server:create_components
"""

from __future__ import annotations

import abc
from typing import Any, Protocol

#: The stevedore namespace of the optional component factories.
NAMESPACE = 'vmetal_ironic.agent.components'


class Component(abc.ABC):
    """A part of the agent that the service starts and stops.

    ``name`` names it in logs.
    """

    name = 'component'

    @abc.abstractmethod
    def start(self) -> None:
        """Start serving and return; run blocking loops in a daemon thread.

        :raises Exception: on a fatal error (e.g. a port that cannot be
            bound); the service then stops what it already started and
            the agent exits.
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving and release resources within a few seconds.

        Must not raise.
        """

    def reload(self) -> bool | None:
        """Re-read data or configuration on SIGHUP (default: nothing).

        Must not raise.

        :returns: optionally, whether the new data is in service (False:
            it was invalid and the previous data stays).
        """
        return None


class ComponentFactory(Protocol):
    """What an entry point of :data:`NAMESPACE` names."""

    def __call__(self, conf: Any, table: Any) -> list[Component]:
        """The components to run for this configuration.

        :param conf: the agent's oslo.config ``ConfigOpts``, parsed, with
            every option group registered.
        :param table: the shared
            :class:`~vmetal_ironic.agent.sources.reservations.Table`.
        :returns: the components to start, in order; ``[]`` when the
            configuration turns them off.
        :raises vmetal_ironic.exception.ConfigError: an option has a value
            the component cannot use (naming the option and value).
        """
