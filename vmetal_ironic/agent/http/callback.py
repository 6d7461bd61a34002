"""The callback listener: the conductor's calls to ramdisks, through the agent.

A ramdisk's heartbeat names the ``callback_url`` where the conductor will
send agent commands (``POST <agent_url>/v1/commands/?wait=true&...``,
``GET <agent_url>/v1/commands/``). That address is on the provisioning
segment. When a heartbeat passes the HTTP proxy, :class:`HeartbeatHook`
checks it and rewrites the URL (:mod:`.heartbeat`) to
``https://<callback_address>:<callback_port>/ramdisk/<id>`` and records
``id -> ramdisk`` in the :class:`Registry` once Ironic accepted it. The
:class:`CallbackListener` serves that URL on the cluster side and forwards
``/ramdisk/<id>/<rest>`` to ``<scheme>://<ramdisk ip>:<port>/<rest>``:

* only for a known id, and only while the ramdisk's address is still a
  reservation of that node (404 / 403 otherwise);
* only to the address the heartbeat came from and the port it named;
* verified TLS to an HTTPS ramdisk: its ``agent_verify_ca`` pinned, or
  ``[dhcp_agent]ramdisk_ca_file``; the listener serves HTTPS with the
  agent's certificate, whose CA goes to the conductor as the heartbeat's
  ``agent_verify_ca``.

The request and response streaming, timeouts, body cap and connection cap
are the HTTP proxy's (:mod:`vmetal_ironic.agent.http.handler`).
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
import weakref

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.agent.dhcp import server as server_mod
from vmetal_ironic.agent.http import handler as http_handler
from vmetal_ironic.agent.http import heartbeat as hb
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent.http import server as http_proxy
from vmetal_ironic.agent.http import tls
from vmetal_ironic.conf import callback as callback_conf
from vmetal_ironic import exception

LOG = log.getLogger(__name__)

RAMDISK = 'ramdisk'
MAX_ENTRIES = 65536
INDEX_REBUILD_INTERVAL = 1.0
_TOKEN_RE = re.compile(r'(agent_token=)[^&]*')


@dataclasses.dataclass(frozen=True)
class RamdiskUpstream(routes.Upstream):
    """A ramdisk as the proxy's handler connects to it (with its context)."""

    context: ssl.SSLContext | None = None


@dataclasses.dataclass
class Entry:
    """A registered ramdisk: where to go and how to verify it."""

    target: hb.Target
    context: ssl.SSLContext | None
    seen: float


class Registry:
    """Ramdisks by id, checked against the reservation table at each use.

    In memory; the ids are derived (HMAC), so after a restart the next
    heartbeat of a ramdisk registers the same id again. At most
    :data:`MAX_ENTRIES`; the least recently seen goes first.
    """

    def __init__(self, table, max_entries: int = MAX_ENTRIES) -> None:
        self.table = table
        self.max_entries = max_entries
        self._entries: collections.OrderedDict[str, Entry] = \
            collections.OrderedDict()
        self._lock = threading.Lock()
        self._index: dict[bytes, bytes] = {}
        self._indexed_at = 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, rid: str) -> bool:
        return rid in self._entries

    def reservation(self, ip: str) -> tuple[bytes, str | None] | None:
        """(mac, node uuid) of the reservation holding ``ip``, or None."""
        try:
            packed = socket.inet_aton(ip)
        except OSError:
            return None
        host = self._host(packed)
        if host is None and (time.monotonic() - self._indexed_at
                             >= INDEX_REBUILD_INTERVAL):
            self._index = {h.ip: h.mac for h in
                           list(self.table.by_mac.values())}
            self._indexed_at = time.monotonic()
            host = self._host(packed)
        return (host.mac, host.node_uuid) if host is not None else None

    def _host(self, packed: bytes):
        mac = self._index.get(packed)
        host = self.table.by_mac.get(mac) if mac is not None else None
        return host if host is not None and host.ip == packed else None

    def register(self, rid: str, target: hb.Target,
                 context: ssl.SSLContext | None) -> None:
        """Record (or refresh) a ramdisk."""
        with self._lock:
            self._entries[rid] = Entry(target, context, time.monotonic())
            self._entries.move_to_end(rid)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def resolve(self, rid: str) -> Entry | routes.Refusal:
        """The entry of ``rid`` if its reservation still holds."""
        entry = self._entries.get(rid)
        if entry is None:
            return routes.Refusal(404, 'unknown ramdisk')
        t = entry.target
        host = self.table.by_mac.get(t.mac)
        if (host is None or socket.inet_ntoa(host.ip) != t.ip
                or host.node_uuid != t.node_uuid):
            with self._lock:
                self._entries.pop(rid, None)
            return routes.Refusal(403, '%s is no longer a reservation of '
                                       'node %s' % (t.ip, t.node_uuid))
        return entry


class HeartbeatHook:
    """The HTTP proxy's heartbeat filter (``HttpProxy.heartbeat``)."""

    def __init__(self, registry: Registry, material: tls.Material,
                 base_url: str, ramdisk_cafile: str | None = None) -> None:
        self.registry = registry
        self.material = material
        self.base_url = base_url
        self.bundle = tls.bundle_context(ramdisk_cafile)
        self._log = server_mod.RateLimitedLog(burst=5, period=10.0)

    def applies(self, method: str, target: str) -> bool:
        """True for a heartbeat."""
        return hb.is_heartbeat(method, target.partition('?')[0])

    def check(self, client: str, target: str, content_type: str | None,
              body: bytes):
        """Check and rewrite one heartbeat.

        :returns: a :class:`~.http_routes.Refusal`, or (body to forward,
            a callable taking the API's status, or None).
        """
        path, _, query = target.partition('?')
        outcome = hb.rewrite(path, query, content_type, body, client,
                             self.registry.reservation,
                             self.material.secret, self.base_url,
                             self.material.ca_pem)
        if isinstance(outcome, hb.Unchanged):
            return body, None
        if isinstance(outcome, hb.Refused):
            return self._refuse(client, path, outcome.status,
                                outcome.reason)
        t = outcome.target
        context = None
        if t.scheme == 'https':
            if t.pinned_pem is not None:
                try:
                    context = tls.pinned_context(
                        tls.canonical_certificate(t.pinned_pem))
                except (tls.TLSError, ssl.SSLError) as e:
                    return self._refuse(client, path, 400,
                                        'agent_verify_ca: %s' % e)
            else:
                context = self.bundle

        def commit(status: int) -> None:
            if 200 <= status < 300:
                if outcome.ramdisk_id not in self.registry:
                    LOG.info('Callback: node %s ramdisk %s://%s:%d is %s/%s',
                             t.node_uuid, t.scheme, t.ip, t.port,
                             self.base_url, outcome.ramdisk_id)
                self.registry.register(outcome.ramdisk_id, t, context)

        return outcome.body, commit

    def _refuse(self, client, path, status, reason):
        self._log.warning('HTTP %s: refused heartbeat %r with %d: %s',
                          client, path, status, reason)
        return routes.Refusal(status, reason)


class CallbackHandler(http_handler.Handler):
    """One conductor connection: route by ramdisk id, then proxy."""

    def _route(self):
        registry = self.server.proxy.registry
        if self.command == 'CONNECT':
            return routes.Refusal(405, 'CONNECT is not supported'), None
        if not self.path.startswith('/'):
            return routes.Refusal(400, 'only origin-form request targets '
                                       'are served'), None
        split = hb.split_target(self.path)
        if split is None:
            return routes.Refusal(404, 'not a ramdisk URL'), None
        rid, rest = split
        bad = routes.bad_path(rest.partition('?')[0])
        if bad:
            return routes.Refusal(400, bad), None
        entry = registry.resolve(rid)
        if isinstance(entry, routes.Refusal):
            return entry, None
        t = entry.target
        upstream = RamdiskUpstream(t.scheme, t.ip, t.port, '',
                                   context=entry.context)
        return routes.Route(RAMDISK, rest), upstream

    def _shown_path(self):
        return _TOKEN_RE.sub(r'\1***', self.path)


class CallbackListener:
    """The callback listener; an agent component.

    :param address: the cluster-side address to bind.
    :param port: the TCP port (0: any free port; see :attr:`port`).
    :param registry: the ramdisks the heartbeats registered.
    :param context: the TLS server context.
    """

    name = 'callback-listener'
    handler_class = CallbackHandler
    # The proxy handler's upstreams; the listener routes by registry.
    api = None
    boot = None
    heartbeat = None

    def __init__(self, address: str, port: int, registry: Registry,
                 context: ssl.SSLContext, connect_timeout: float = 10.0,
                 read_timeout: float = 300.0,
                 max_body_size: int = 128 * 1024 * 1024,
                 max_connections: int = 100) -> None:
        self.address = address
        self.port = port
        self.registry = registry
        self.context = context
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body_size = max_body_size
        self.max_connections = max_connections
        self.ssl_context = None
        self._server = None

    def start(self) -> None:
        """Bind and serve in a background thread.

        :raises OSError: if the socket cannot be bound.
        """
        self._server = http_proxy._Server(self, (self.address, self.port),
                                          None, self.context)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever,
                         kwargs={'poll_interval': 0.5},
                         name='callback-listener', daemon=True).start()
        LOG.info('Callback listener on https://%s:%d%s/', self.address,
                 self.port, hb.PREFIX)

    def stop(self) -> None:
        """Stop accepting and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- wiring: one callback bridge per reservation table


@dataclasses.dataclass
class Bridge:
    """What the proxy's hook and the listener share."""

    registry: Registry
    hook: HeartbeatHook
    listener: CallbackListener


_BRIDGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BRIDGES_LOCK = threading.Lock()


def _enabled(conf) -> bool:
    g = conf.dhcp_agent
    return bool(g.callback_port and g.http_proxy_enabled
                and g.ironic_api_url)


def listen_address(conf) -> str:
    """``callback_address``, or the local address toward the Ironic API.

    :raises ConfigError: unset and not derivable.
    """
    g = conf.dhcp_agent
    if g.callback_address:
        return str(ipaddress.ip_address(g.callback_address))
    host = urllib.parse.urlsplit(g.ironic_api_url).hostname
    try:
        info = socket.getaddrinfo(host, 80, type=socket.SOCK_DGRAM)[0]
        with socket.socket(info[0], socket.SOCK_DGRAM) as s:
            s.connect(info[4])
            return s.getsockname()[0]
    except OSError as e:
        raise exception.ConfigError(
            reason='[dhcp_agent]callback_address is unset and no route to '
                   'the host of ironic_api_url (%s): %s; set it' % (host, e))


def load_material(conf, address: str) -> tls.Material:
    """The agent's TLS material and secret (see :mod:`.tls`).

    :raises ConfigError: naming the option and value.
    """
    g = conf.dhcp_agent
    state = g.state_dir
    if state == callback_conf.DEFAULT_STATE_DIR and not (
            os.path.isdir(state) and os.access(state, os.W_OK)):
        if g.callback_cert_file:
            raise exception.ConfigError(
                reason='[dhcp_agent]state_dir = "%s": not a writable '
                       'directory (it keeps the callback secret)' % state)
        LOG.warning('Callback: [dhcp_agent]state_dir %s is not a writable '
                    'directory: the agent CA and callback secret live in '
                    'memory; ramdisks running across an agent restart will '
                    'fail their next heartbeat', state)
        return tls.generate_material(address)
    try:
        os.makedirs(state, mode=0o700, exist_ok=True)
        return tls.load_state(state, address, g.callback_cert_file,
                              g.callback_key_file, g.callback_ca_file)
    except tls.TLSError as e:
        raise exception.ConfigError(
            reason='[dhcp_agent]callback_cert_file / callback_key_file / '
                   'callback_ca_file: %s' % e)
    except OSError as e:
        raise exception.ConfigError(
            reason='[dhcp_agent]state_dir = "%s": %s' % (state, e))


def validate(conf) -> None:
    """Check the callback and HTTPS options (start-up).

    :raises ConfigError: naming the option and value.
    """
    g = conf.dhcp_agent
    for opt in callback_conf.opts:
        try:
            getattr(g, opt.dest)
        except (cfg.Error, ValueError) as e:
            raise exception.ConfigError(reason=str(e))
    if bool(g.callback_cert_file) != bool(g.callback_key_file):
        raise exception.ConfigError(
            reason='[dhcp_agent]callback_cert_file and callback_key_file '
                   'go together')
    if g.callback_ca_file and not g.callback_cert_file:
        raise exception.ConfigError(
            reason='[dhcp_agent]callback_ca_file = "%s" needs '
                   'callback_cert_file' % g.callback_ca_file)
    if g.https_port and not (g.https_cert_file and g.https_key_file):
        raise exception.ConfigError(
            reason='[dhcp_agent]https_port = %d needs https_cert_file and '
                   'https_key_file' % g.https_port)
    if g.https_port and g.https_port == conf.dhcp_agent.http_port:
        raise exception.ConfigError(
            reason='[dhcp_agent]https_port = %d is http_port too'
                   % g.https_port)
    if g.callback_address:
        addr = ipaddress.ip_address(g.callback_address)
        if addr.is_unspecified or addr.is_multicast:
            raise exception.ConfigError(
                reason='[dhcp_agent]callback_address = "%s": the listener '
                       'advertises it; give the agent\'s own address'
                       % g.callback_address)


def bridge(conf, table) -> Bridge | None:
    """The callback bridge of ``table``, built once; None when off.

    :raises ConfigError: invalid options or TLS material.
    """
    if not _enabled(conf):
        return None
    with _BRIDGES_LOCK:
        found = _BRIDGES.get(table)
        if found is not None:
            return found
        validate(conf)
        g = conf.dhcp_agent
        address = listen_address(conf)
        material = load_material(conf, address)
        registry = Registry(table)
        base = hb.callback_base(address, g.callback_port)
        hook = HeartbeatHook(registry, material, base, g.ramdisk_ca_file)
        listener = CallbackListener(
            address, g.callback_port, registry, tls.server_context(material),
            connect_timeout=g.callback_connect_timeout,
            read_timeout=g.callback_read_timeout,
            max_body_size=g.callback_max_body_size,
            max_connections=g.callback_max_connections)
        found = _BRIDGES[table] = Bridge(registry, hook, listener)
        return found


def heartbeat_hook(conf, table) -> HeartbeatHook | None:
    """The proxy's heartbeat rewrite; None when the callback path is off."""
    b = bridge(conf, table)
    return b.hook if b is not None else None


def create_components(conf, table=None) -> list:
    """The callback listener component, or none when it is off.

    Called by :class:`vmetal_ironic.agent.service.AgentService`.

    :param conf: an oslo.config ConfigOpts with ``[dhcp_agent]``.
    :param table: the agent's reservation table.
    :returns: a list of zero or one :class:`CallbackListener`.
    :raises ConfigError: invalid options or TLS material.
    """
    g = conf.dhcp_agent
    if not g.callback_port:
        LOG.info('Callback listener is off ([dhcp_agent]callback_port = 0)')
        return []
    if table is None or not _enabled(conf):
        LOG.warning('Callback listener is off: no heartbeat passes the '
                    'agent (the HTTP proxy is off or has no '
                    'ironic_api_url); set [dhcp_agent]callback_port = 0 to '
                    'silence this')
        return []
    return [bridge(conf, table).listener]
