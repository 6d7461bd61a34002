"""The callback path's wiring: heartbeat hook, listener, options.

A ramdisk's heartbeat names the ``callback_url`` where the conductor will
send agent commands (``POST <agent_url>/v1/commands/?wait=true&...``,
``GET <agent_url>/v1/commands/``). That address is on the provisioning
segment. When a heartbeat passes the HTTP proxy, :class:`HeartbeatHook`
checks it and rewrites the URL (:mod:`.heartbeat`) to
``https://<callback_address>:<callback_port>/ramdisk/<id>`` and records
``id -> ramdisk`` in the :class:`~.registry.Registry` once Ironic accepted
it. The :class:`~.listener.CallbackListener` serves that URL on the cluster
side and forwards ``/ramdisk/<id>/<rest>`` to
``<scheme>://<ramdisk ip>:<port>/<rest>``:

* only for a known id, and only while the ramdisk's address is still a
  reservation of that node (404 / 403 otherwise);
* only to the address the heartbeat came from and the port it named;
* verified TLS to an HTTPS ramdisk: its ``agent_verify_ca`` pinned, or
  ``[dhcp_agent]ramdisk_ca_file``; the listener serves HTTPS with the
  agent's certificate, whose CA goes to the conductor as the heartbeat's
  ``agent_verify_ca``.

This module builds one bridge (registry, hook, listener) per reservation
table from the options, which it validates; the HTTP proxy asks it for the
hook (:func:`heartbeat_hook`), the agent for the listener component
(:func:`create_components`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import ssl
import threading
import urllib.parse
import weakref

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.agent.dhcp import server as server_mod
from vmetal_ironic.agent.http import heartbeat as hb
from vmetal_ironic.agent.http import listener as listener_mod
from vmetal_ironic.agent.http import registry as registry_mod
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent.http import tls
from vmetal_ironic.conf.dhcp_agent import callback as callback_conf
from vmetal_ironic import exception

LOG = log.getLogger(__name__)


class HeartbeatHook:
    """The HTTP proxy's heartbeat filter (``HttpProxy.heartbeat``)."""

    def __init__(self, registry: registry_mod.Registry,
                 material: tls.Material,
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
        if t.pinned_pem is not None and t.scheme == 'https':
            try:
                pem = tls.canonical_certificate(t.pinned_pem)
            except tls.TLSError as e:
                return self._refuse(client, path, 400,
                                    'agent_verify_ca: %s' % e)
            t = dataclasses.replace(t, pinned_pem=pem)
        try:
            context = self.context_for(t)
        except (tls.TLSError, ssl.SSLError) as e:
            return self._refuse(client, path, 400, 'agent_verify_ca: %s' % e)

        def commit(status: int) -> None:
            if 200 <= status < 300:
                if outcome.ramdisk_id not in self.registry:
                    LOG.info('Callback: node %s ramdisk %s://%s:%d is %s/%s',
                             t.node_uuid, t.scheme,
                             '[%s]' % t.ip if ':' in t.ip else t.ip,
                             t.port, self.base_url, outcome.ramdisk_id)
                self.registry.register(outcome.ramdisk_id, t, context)

        return outcome.body, commit

    def context_for(self, t: hb.Target) -> ssl.SSLContext | None:
        """The TLS client context to reach ``t`` (None for HTTP).

        :raises TLSError, ssl.SSLError: an unusable pinned certificate.
        """
        if t.scheme != 'https':
            return None
        if t.pinned_pem is not None:
            return tls.pinned_context(t.pinned_pem)
        return self.bundle

    def _refuse(self, client, path, status, reason):
        self._log.warning('HTTP %s: refused heartbeat %r with %d: %s',
                          client, path, status, reason)
        return routes.Refusal(status, reason)


# --- wiring: one callback bridge per reservation table


@dataclasses.dataclass
class Bridge:
    """What the proxy's hook and the listener share."""

    registry: registry_mod.Registry
    hook: HeartbeatHook
    listener: listener_mod.CallbackListener


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
        registry = registry_mod.Registry(
            table, state_dir=g.state_dir if material.persistent else None)
        base = hb.callback_base(address, g.callback_port)
        hook = HeartbeatHook(registry, material, base, g.ramdisk_ca_file)
        registry.context_for = hook.context_for
        registry.load()
        listener = listener_mod.CallbackListener(
            address, g.callback_port, registry, tls.server_context(material),
            connect_timeout=g.callback_connect_timeout,
            read_timeout=g.callback_read_timeout,
            max_body_size=g.callback_max_body_size,
            max_connections=g.callback_max_connections)
        listener.shared = registry.shared = bool(g.service_address)
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
    :returns: a list of zero or one
        :class:`~.listener.CallbackListener`.
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
    made = bridge(conf, table)
    return [made.listener] if made is not None else []
