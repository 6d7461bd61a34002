"""The agent's metrics and health endpoint; an agent component.

``GET /metrics`` serves :data:`~vmetal_ironic.agent.metrics.REGISTRY` in
the Prometheus text format, ``GET /healthz`` answers 200 while the process
serves, ``GET /readyz`` 200 once every configured reservation source has
filled the table (503 before). Anything else gets 404, a method other
than GET or HEAD 405.

The endpoint listens on the cluster-side address only
(``[dhcp_agent]metrics_address``, default the callback listener's), bound
to the network device holding it (``SO_BINDTODEVICE``, as the callback
listener), and refuses the provisioning address: servers on the
provisioning segment never reach it.
"""

from __future__ import annotations

import http.server
import ipaddress
import threading

from oslo_log import log
import prometheus_client as prom

from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import sockets
from vmetal_ironic import exception

LOG = log.getLogger(__name__)


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = 'vmetal-dhcp-agent'
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        LOG.debug('Metrics %s: ' + format, self.client_address[0], *args)

    def _answer(self, status: int, body: bytes,
                content_type: str = 'text/plain; charset=utf-8') -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_GET(self):
        endpoint = self.server.endpoint
        path = self.path.partition('?')[0]
        if path == '/metrics':
            try:
                body = prom.generate_latest(endpoint.registry)
            except Exception:
                LOG.exception('Metrics: collecting failed')
                self._answer(500, b'collecting the metrics failed\n')
                return
            self._answer(200, body, prom.CONTENT_TYPE_LATEST)
        elif path == '/healthz':
            self._answer(200, b'ok\n')
        elif path == '/readyz':
            if endpoint.ready():
                self._answer(200, b'ready\n')
            else:
                self._answer(503, b'reservations not loaded yet\n')
        else:
            self._answer(404, b'not found\n')

    do_HEAD = do_GET

    def _not_allowed(self):
        self.close_connection = True
        self._answer(405, b'method not allowed\n')

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: 'MetricsEndpoint', address, interface):
        self.endpoint = endpoint
        self._interface = interface
        super().__init__(address, _Handler)

    def server_bind(self):
        if self._interface:
            sockets.bind_to_device(self.socket, self._interface,
                                   'metrics endpoint', required=True)
        super().server_bind()


class MetricsEndpoint:
    """``/metrics``, ``/healthz``, ``/readyz`` on a cluster-side address.

    :param address: the address to bind (not the provisioning one).
    :param port: the TCP port (0: any free port; see :attr:`port`).
    :param sources: the reservation sources /readyz waits for.
    :param registry: what /metrics serves.
    :param close: called by :meth:`stop` (closes the pool feed).
    """

    name = 'metrics'

    def __init__(self, address: str, port: int, sources: list[str],
                 registry=metrics.REGISTRY, close=None) -> None:
        self.close = close
        self.address = address
        self.port = port
        self.sources = list(sources)
        self.registry = registry
        self.interface: str | None = None
        self._server: _Server | None = None

    def ready(self) -> bool:
        """True once every source has loaded the table."""
        return metrics.AGES.loaded(self.sources)

    def start(self) -> None:
        """Bind (to the device of the address too) and serve in a thread.

        :raises OSError: the address is not local or cannot be bound.
        """
        from vmetal_ironic.agent.http import listener
        self.interface = listener.interface_of(self.address)
        if self.interface is None:
            raise OSError('metrics_address %s is not an address of this '
                          'host' % self.address)
        self._server = _Server(self, (self.address, self.port),
                               self.interface)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever,
                         kwargs={'poll_interval': 0.5}, name='metrics',
                         daemon=True).start()
        LOG.info('Metrics on http://%s:%d/metrics (device %s)',
                 self.address, self.port, self.interface)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.close is not None:
            try:
                self.close()
            except Exception as e:
                LOG.warning('Metrics: closing the IPAM feed failed: %s', e)

    def reload(self) -> None:
        """Nothing to reload."""


def listen_address(conf) -> str | None:
    """``metrics_address``, or the callback listener's address.

    :returns: None when neither it nor ``callback_address`` nor
        ``ironic_api_url`` is set (an agent with no cluster side), or
        when no route leads toward ``ironic_api_url`` (logged).
    :raises ConfigError: the provisioning or the unspecified address.
    """
    g = conf.dhcp_agent
    if g.metrics_address:
        address = str(ipaddress.ip_address(g.metrics_address))
    elif g.callback_address or g.ironic_api_url:
        from vmetal_ironic.agent.http import callback
        try:
            address = callback.listen_address(conf)
        except exception.ConfigError as e:
            LOG.warning('Metrics endpoint: no address: %s', e)
            return None
    else:
        return None
    if ipaddress.ip_address(address).is_unspecified or (
            g.server_address and address == g.server_address):
        raise exception.ConfigError(
            reason='[dhcp_agent]metrics_address = "%s": the metrics '
                   'endpoint serves the cluster side only, not the '
                   'provisioning address or every address' % address)
    return address


def create_components(conf, table=None) -> list:
    """The metrics endpoint component, or none when it is off.

    Also makes ``vmetal_dhcp4_reservations`` read ``table`` and, with the
    IPAM source, registers the per-pool gauges (:mod:`.pool_stats`).

    :raises ConfigError: an unusable address (see
        :func:`listen_address`).
    """
    g = conf.dhcp_agent
    if not g.metrics_port:
        LOG.info('Metrics endpoint is off ([dhcp_agent]metrics_port = 0)')
        return []
    address = listen_address(conf)
    if address is None:
        LOG.warning('Metrics endpoint is off: no cluster-side address '
                    '(set [dhcp_agent]metrics_address, or metrics_port = 0 '
                    'to silence this)')
        return []
    from vmetal_ironic.agent import service
    sources = service.configured_sources(conf)
    if table is not None:
        metrics.watch_table(table)
    from vmetal_ironic.conf import dhcp_agent as dhcp_conf
    registry, close = metrics.REGISTRY, None
    if dhcp_conf.SOURCE_IPAM in sources:
        from vmetal_ironic.agent import pool_stats
        from vmetal_ironic.agent.sources import ipam as ipam_source
        collector = pool_stats.PoolStatsCollector(
            ipam_source.open_feed(conf), g.pool_stats_ttl)
        registry = prom.CollectorRegistry(auto_describe=True)
        registry.register(_Merged(metrics.REGISTRY))
        registry.register(collector)
        close = collector.feed.close
    return [MetricsEndpoint(address, g.metrics_port, sources, registry,
                            close)]


class _Merged:
    """A registry as one collector of another (keeps REGISTRY shared)."""

    def __init__(self, registry) -> None:
        self.registry = registry

    def describe(self) -> list:
        return []

    def collect(self):
        return self.registry.collect()
