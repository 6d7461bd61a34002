"""The agent process: a list of components started and stopped together.

A component is anything with ``name``, ``start()``, ``stop()`` and
optionally ``reload()`` (see :class:`Component`). The service builds, in
this order:

1. the reservation sources (:class:`~.file_source.FileSource`,
   :class:`~.ipam_source.IpamSource`), which fill the shared
   :class:`~.reservations.Table` in ``start()``;
2. the DHCP server (:class:`~.server.DHCPServer`);
3. extra servers on the provisioning interface (TFTP, HTTP proxy).

**Hooking in extra servers.** For each module named in
:data:`EXTRA_COMPONENT_MODULES` that exists, the service calls its
``create_components(conf, table)`` function, which returns a list of
components (empty when disabled by configuration). ``start()`` must raise
on a fatal error (e.g. a port it cannot bind): the service then stops what
it already started and the agent exits. ``stop()`` must return within a
few seconds. Run blocking loops in your own thread (daemon). Tests and
other callers may also pass components explicitly with
:meth:`AgentService.add`.

Signals (:meth:`AgentService.run`): SIGHUP calls ``reload()`` of every
component that has one (the file source re-reads its file); SIGTERM and
SIGINT stop all components in reverse order.
"""

from __future__ import annotations

import abc
import importlib
import signal
import socket
import threading

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.agent import handlers
from vmetal_ironic.agent import netboot
from vmetal_ironic.agent.reservations import Table
from vmetal_ironic.agent import server as server_mod
from vmetal_ironic.agent import transport
from vmetal_ironic.conf import bridge as bridge_conf
from vmetal_ironic.conf import dhcp_agent as dhcp_conf
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)

#: Modules that may provide ``create_components(conf, table)``.
EXTRA_COMPONENT_MODULES = ('vmetal_ironic.agent.tftp',
                           'vmetal_ironic.agent.http_proxy',
                           'vmetal_ironic.agent.http.callback')


class Component(abc.ABC):
    """A part of the agent with a life cycle."""

    name = 'component'

    @abc.abstractmethod
    def start(self) -> None:
        """Start serving; raise on a fatal error (the agent exits)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving and release resources; must not raise."""

    def reload(self) -> None:
        """Re-read configuration or data (SIGHUP); optional."""


def boot_defaults(conf) -> dict[str, str | None]:
    """The agent's boot defaults from ``[dhcp_agent]``.

    Without an explicit ``ipxe_script_url``, iPXE clients are sent to
    Ironic's ``boot.ipxe`` through the agent's own HTTP proxy when it runs
    (the only URL servers on the provisioning segment can reach).
    """
    from vmetal_ironic.agent import http_proxy
    g = conf.dhcp_agent
    return {'bios_bootfile': g.bios_bootfile,
            'uefi_bootfile': g.uefi_bootfile,
            'arm64_bootfile': g.arm64_bootfile,
            'ipxe_script_url': (g.ipxe_script_url
                                or http_proxy.proxy_url(conf, '/boot.ipxe')),
            'http_boot_url': g.http_boot_url,
            'tftp_server': g.tftp_server or g.server_address}


def validate(conf) -> list[str]:
    """Check ``[dhcp_agent]``; returns the reservation sources to use.

    :raises exception.ConfigError: naming the option and value.
    """
    bridge_conf.register_opts(conf)
    g = conf.dhcp_agent
    for opt in dhcp_conf.opts + bridge_conf.opts:
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
    if g.tftp_server:
        try:
            socket.inet_pton(socket.AF_INET, g.tftp_server)
        except OSError:
            raise exception.ConfigError(
                reason=_('[dhcp_agent]tftp_server = "%s" is not an IPv4 '
                         'address') % g.tftp_server)
    sources = list(g.sources) or (
        [dhcp_conf.SOURCE_FILE] if g.reservations_file
        else [dhcp_conf.SOURCE_IPAM])
    from vmetal_ironic.agent.http import callback
    callback.validate(conf)
    if dhcp_conf.SOURCE_FILE in sources and not g.reservations_file:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]sources includes "file" but '
                     'reservations_file is not set'))
    return sources


class AgentService:
    """Builds and runs the agent's components."""

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
            from vmetal_ironic.agent import ipam_source
            self.add(ipam_source.IpamSource(
                self.table, self.conf, g.lease_time, defaults,
                g.sync_interval))
        if dhcp_conf.SOURCE_FILE in sources:
            from vmetal_ironic.agent import file_source
            self.add(file_source.FileSource(
                self.table, g.reservations_file, g.lease_time, defaults))
        self.add(make_dhcp_server(self.conf, self.table))
        for modname in EXTRA_COMPONENT_MODULES:
            try:
                mod = importlib.import_module(modname)
            except ModuleNotFoundError as e:
                if e.name != modname:
                    raise
                continue
            factory = getattr(mod, 'create_components', None)
            if factory is not None:
                for c in factory(self.conf, self.table) or ():
                    self.add(c)

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


def make_dhcp_server(conf, table: Table) -> server_mod.DHCPServer:
    """The DHCP server component for ``conf`` serving ``table``."""
    g = conf.dhcp_agent
    sid = socket.inet_aton(g.server_address)
    decider = netboot.Decider(g.tftp_server or g.server_address,
                              all_clients=g.boot_options_for_all_clients)
    ctx = handlers.Context(sid, decider)

    def factory():
        return transport.LinuxTransport(g.interface, g.server_address,
                                        rcvbuf=g.receive_buffer)

    return server_mod.DHCPServer(table, handlers.Chain.default(ctx), factory)
