"""The agent process: components started and stopped together.

The service builds, in this order:

1. the reservation sources (:class:`~.sources.file.FileSource`,
   :class:`~.sources.ipam.IpamSource`), which fill the shared
   :class:`~.sources.reservations.Table` in ``start()``;
2. the DHCP server (:class:`~.dhcp.server.DHCPServer`);
3. the optional servers on the provisioning segment (TFTP, HTTP proxy),
   from the factories of the entry point namespace
   :data:`~.component.NAMESPACE` (the contract is in
   :mod:`vmetal_ironic.agent.component`).

Tests and other callers may also pass components explicitly with
:meth:`AgentService.add`.

Signals (:meth:`AgentService.run`): SIGHUP calls ``reload()`` of every
component (the file source re-reads its file); SIGTERM and SIGINT stop all
components in reverse order.
"""

from __future__ import annotations

import resource
import signal
import socket
import threading

from oslo_config import cfg
from oslo_log import log
from stevedore import extension

from vmetal_ironic.agent import component
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import handlers
from vmetal_ironic.agent.dhcp import netboot
from vmetal_ironic.agent.dhcp import server as server_mod
from vmetal_ironic.agent.dhcp import transport
from vmetal_ironic.agent.dhcp6 import setup as dhcp6_setup
from vmetal_ironic.agent import discovery
from vmetal_ironic.agent.dns import advertise as dns_advertise
from vmetal_ironic.agent.http import server as http_server
from vmetal_ironic.agent.sources import file as file_source
from vmetal_ironic.agent.sources import ipam as ipam_source
from vmetal_ironic.agent.sources import push
from vmetal_ironic.agent.sources.reservations import Table
from vmetal_ironic.agent.sources import snapshot
from vmetal_ironic.conf import dhcp_agent as dhcp_conf
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)


def boot_defaults(conf) -> dict[str, str | None]:
    """The agent's boot defaults from ``[dhcp_agent]``.

    Without an explicit ``ipxe_script_url``, iPXE clients are sent to
    Ironic's ``boot.ipxe`` through the agent's own HTTP proxy when it runs
    (the only URL servers on the provisioning segment can reach).
    """
    g = conf.dhcp_agent
    script = g.ipxe_script_url or http_server.proxy_url(conf, '/boot.ipxe')
    if not g.ipxe_script_url and script and g.service_address:
        # Active-active: the replica holding the shared address serves
        # it, whichever replica answered the DHCP exchange.
        script = 'http://%s:%d/boot.ipxe' % (g.service_address, g.http_port)
    return {'bios_bootfile': g.bios_bootfile,
            'uefi_bootfile': g.uefi_bootfile,
            'arm64_bootfile': g.arm64_bootfile,
            'ipxe_script_url': script,
            'http_boot_url': g.http_boot_url,
            'tftp_server': g.tftp_server or g.server_address}


def configured_sources(conf) -> list[str]:
    """``[dhcp_agent]sources``, or the default for the options given."""
    g = conf.dhcp_agent
    return list(g.sources) or (
        [dhcp_conf.SOURCE_FILE] if g.reservations_file
        else [dhcp_conf.SOURCE_IPAM])


def validate(conf) -> list[str]:
    """Check ``[dhcp_agent]``; returns the reservation sources to use.

    :raises exception.ConfigError: naming the option and value.
    """
    g = conf.dhcp_agent
    for opt in dhcp_conf.opts:
        try:
            getattr(g, opt.dest)
        except (cfg.Error, ValueError) as e:
            # oslo.config converts values on first access
            raise exception.ConfigError(reason=str(e))
    if not g.interface:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]interface is required'))
    try:
        socket.if_nametoindex(g.interface)
    except OSError:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]interface = "%s": no such network '
                     'interface') % g.interface)
    if not g.server_address:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]server_address is required'))
    if g.service_address and g.service_address == g.server_address:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]service_address = "%s" is server_address '
                     'too: the shared address must differ from each '
                     'replica\'s own') % g.service_address)
    if g.tftp_server:
        try:
            socket.inet_pton(socket.AF_INET, g.tftp_server)
        except OSError:
            raise exception.ConfigError(
                reason=_('[dhcp_agent]tftp_server = "%s" is not an IPv4 '
                         'address') % g.tftp_server)
    sources = configured_sources(conf)
    from vmetal_ironic.agent.http import callback
    callback.validate(conf)
    if g.discovery_enabled and dhcp_conf.SOURCE_IPAM not in sources:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]discovery_enabled needs the "ipam" source '
                     '(discovery leases live in the IPAM database)'))
    if dhcp_conf.SOURCE_FILE in sources and not g.reservations_file:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]sources includes "file" but '
                     'reservations_file is not set'))
    return sources


class AgentService:
    """Builds and runs the agent's :class:`~.component.Component` list."""

    def __init__(self, conf, components: list | None = None) -> None:
        self.conf = conf
        self.table = Table()
        self.components: list = list(components or [])
        self._started: list = []
        self._stop = threading.Event()
        self._reload = threading.Event()

    def add(self, component) -> None:
        """Append a component (before :meth:`start`)."""
        self.components.append(component)

    def build(self) -> None:
        """Create the standard components from the configuration.

        :raises exception.ConfigError: invalid ``[dhcp_agent]`` options.
        """
        g = self.conf.dhcp_agent
        sources = validate(self.conf)
        defaults = boot_defaults(self.conf)
        if dhcp_conf.SOURCE_IPAM in sources:
            source = ipam_source.IpamSource(
                self.table, ipam_source.open_feed(self.conf), g.lease_time,
                defaults, g.sync_interval,
                snapshot.path_in(g.state_dir),
                boot_defaults6=dhcp6_setup.boot_defaults(self.conf))
            self.add(source)
            if push.enabled(self.conf):
                self.add(push.PushListener(self.conf, source))
        if dhcp_conf.SOURCE_FILE in sources:
            self.add(file_source.FileSource(
                self.table, g.reservations_file, g.lease_time, defaults,
                dhcp6_setup.boot_defaults(self.conf)))
        server = make_dhcp_server(self.conf, self.table)
        self.add(server)
        server.discovery = discovery.make(
            self.conf, socket.inet_aton(g.server_address), defaults)
        if server.discovery is not None:
            self.add(server.discovery)
        dhcp6 = dhcp6_setup.make_server(self.conf, self.table,
                                        interface_mtu(g.interface))
        if dhcp6 is not None:
            self.add(dhcp6)
        for c in optional_components(self.conf, self.table):
            self.add(c)
        check_descriptors(self.conf, [c.name for c in self.components])

    def start(self) -> None:
        """Start every component in order; on failure stop them and raise."""
        for c in self.components:
            try:
                c.start()
            except BaseException:
                LOG.error('Component %s failed to start',
                          getattr(c, 'name', c))
                self.stop()
                raise
            self._started.append(c)

    def stop(self) -> None:
        """Stop the started components in reverse order."""
        while self._started:
            c = self._started.pop()
            try:
                c.stop()
            except Exception:
                LOG.exception('Component %s failed to stop',
                              getattr(c, 'name', c))
        self._stop.set()

    def reload(self) -> None:
        """Call ``reload()`` of every started component."""
        for c in list(self._started):
            fn = getattr(c, 'reload', None)
            if fn is not None:
                try:
                    fn()
                except Exception:
                    LOG.exception('Component %s failed to reload',
                                  getattr(c, 'name', c))

    def run(self) -> None:
        """Start, then serve until SIGTERM/SIGINT; SIGHUP reloads."""
        def _term(signum, frame):
            LOG.info('Signal %d: stopping', signum)
            self._terminate = True
            self._stop.set()

        def _hup(signum, frame):
            self._reload.set()
            self._stop.set()    # wakes the loop below

        self._terminate = False
        signal.signal(signal.SIGTERM, _term)
        signal.signal(signal.SIGINT, _term)
        signal.signal(signal.SIGHUP, _hup)
        self.start()
        try:
            while not self._terminate:
                self._stop.wait()
                self._stop.clear()
                if self._reload.is_set() and not self._terminate:
                    self._reload.clear()
                    LOG.info('SIGHUP: reloading')
                    self.reload()
        finally:
            self.stop()


def optional_components(conf, table: Table) -> list[component.Component]:
    """The components of every factory in :data:`component.NAMESPACE`.

    Factories run in the order of their entry point names; one that raises
    stops the build (a configuration error is fatal at start-up).
    """
    mgr = extension.ExtensionManager(component.NAMESPACE,
                                     on_load_failure_callback=_load_failed)
    out: list[component.Component] = []
    for ext in sorted(mgr, key=lambda e: e.name):
        made = ext.plugin(conf, table)
        LOG.debug('Component factory %s: %s', ext.name,
                  [c.name for c in made])
        out.extend(made)
    return out


def _load_failed(manager, entrypoint, error):
    raise exception.ConfigError(
        reason=_('agent component %(name)s cannot be loaded: %(error)s')
        % {'name': entrypoint.name, 'error': error})


# Descriptors outside the per-client budget: listeners, epoll, pipes, the
# database and message bus connections, log files, stevedore's imports.
DESCRIPTOR_MARGIN = 64


def descriptor_budget(conf, names: list[str]) -> list[tuple[str, int]]:
    """Descriptors the components ``names`` may hold at their limits.

    Each TFTP transfer holds a socket and the open file; each HTTP or
    callback connection the client's socket and the upstream one (the
    HTTPS listener has its own ``http_max_connections``).

    :returns: (what, descriptors) pairs, the options named in ``what``.
    """
    g = conf.dhcp_agent
    out = []
    if 'tftp' in names:
        out.append(('[dhcp_agent]tftp_max_transfers = %d (x2)'
                    % g.tftp_max_transfers, 2 * g.tftp_max_transfers))
    if 'http-proxy' in names:
        listeners = 2 if g.https_port else 1
        out.append(('[dhcp_agent]http_max_connections = %d (x2%s)'
                    % (g.http_max_connections,
                       ' x2 with https_port' if g.https_port else ''),
                    2 * listeners * g.http_max_connections))
    if 'callback-listener' in names:
        out.append(('[dhcp_agent]callback_max_connections = %d (x2)'
                    % g.callback_max_connections,
                    2 * g.callback_max_connections))
    out.append(('margin', DESCRIPTOR_MARGIN))
    return out


def check_descriptors(conf, names: list[str]) -> int:
    """Make sure the open-file limit fits the configured limits.

    The soft RLIMIT_NOFILE is raised up to the hard limit when needed; a
    configuration that cannot fit even then is refused, so that descriptor
    exhaustion never happens at packet time.

    :returns: the descriptors needed.
    :raises exception.ConfigError: naming the options and the limit.
    """
    parts = descriptor_budget(conf, names)
    needed = sum(n for _, n in parts)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if needed <= soft:
        return needed
    if hard == resource.RLIM_INFINITY or needed <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        LOG.info('Open-file limit raised from %d to %d for %s', soft,
                 needed, ', '.join(w for w, _ in parts))
        return needed
    raise exception.ConfigError(
        reason=_('the configured limits need %(needed)d file descriptors '
                 '(%(parts)s) but the open-file limit (RLIMIT_NOFILE) is '
                 '%(hard)d: lower these options or raise the limit '
                 '(ulimit -n, LimitNOFILE=)')
        % {'needed': needed, 'hard': hard,
           'parts': ' + '.join('%s: %d' % p for p in parts)})


def interface_mtu(interface: str) -> int:
    """The MTU of ``interface`` (1500 when it cannot be read)."""
    try:
        with open('/sys/class/net/%s/mtu' % interface) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1500


def make_dhcp_server(conf, table: Table) -> server_mod.DHCPServer:
    """The DHCP server component for ``conf`` serving ``table``."""
    g = conf.dhcp_agent
    sid = socket.inet_aton(g.server_address)
    decider = netboot.Decider(g.tftp_server or g.server_address,
                              all_clients=g.boot_options_for_all_clients)
    dns4, _dns6, dns_always = dns_advertise.advertised(conf)
    ctx = handlers.Context(sid, decider, max_payload=interface_mtu(
        g.interface) - codec.IP_UDP_OVERHEAD, agent_dns=dns4,
        dns_always=dns_always)

    def factory():
        return transport.LinuxTransport(g.interface, g.server_address,
                                        rcvbuf=g.receive_buffer)

    return server_mod.DHCPServer(table, handlers.Chain.default(ctx), factory)
