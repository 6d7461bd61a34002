"""Agent component: change notices from the broker wake the IPAM source.

Runs when ``[vmetal_rpc]transport_url`` is set; each notice newer than
what the source serves makes it read ``changes_since`` at once instead of
at its next periodic sync (which stays, as the safety net).
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.agent import component
from vmetal_ironic.conf import rpc as rpc_conf

LOG = log.getLogger(__name__)


class PushListener(component.Component):
    """Listens for change notices and passes them to ``source.notify``.

    :param conf: the agent's configuration (``[vmetal_rpc]``).
    :param source: the :class:`~vmetal_ironic.agent.sources.ipam.
        IpamSource` to wake.
    """

    name = 'push-listener'

    def __init__(self, conf: Any, source: Any) -> None:
        from vmetal_ironic.rpc import listener
        self.listener = listener.Listener(conf, source.notify)
        self.topic = conf[rpc_conf.GROUP].topic

    def start(self) -> None:
        self.listener.start()
        LOG.info('Listening for change notices on topic %s', self.topic)

    def stop(self) -> None:
        self.listener.stop()


def enabled(conf: Any) -> bool:
    """Whether push is configured.

    A configuration without the ``[vmetal_rpc]`` group has none.
    """
    try:
        return bool(conf[rpc_conf.GROUP].transport_url)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False
