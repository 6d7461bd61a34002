"""Building the DHCPv6 server from ``[dhcp_agent]`` (the service's half).

Kept out of :mod:`vmetal_ironic.agent.service` so that the DHCPv4 wiring
there stays as it is: the service asks :func:`boot_defaults` for the
sources and :func:`make_server` for the component (None: not served).
"""

from __future__ import annotations

from oslo_log import log

from vmetal_ironic.agent.dhcp6 import handlers
from vmetal_ironic.agent.dhcp6 import netboot
from vmetal_ironic.agent.dhcp6 import server as server_mod
from vmetal_ironic.agent.dns import advertise as dns_advertise
from vmetal_ironic.agent import metrics
from vmetal_ironic.conf.dhcp_agent import dhcp6 as conf6
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)


def boot_defaults(conf) -> dict[str, str | None]:
    """The agent's IPv6 boot defaults (see :func:`.netboot.defaults`)."""
    g = conf.dhcp_agent
    return netboot.defaults(g.server_address6, g)


def has_ipv6(interface: str) -> bool:
    """True if ``interface`` has a global-scope IPv6 address (or a ULA).

    That is what an IPv6 provisioning segment gives the agent; a
    link-local address alone (every interface has one) or the loopback's
    ``::1`` does not count.
    """
    try:
        with open('/proc/net/if_inet6') as f:
            for line in f:
                fields = line.split()
                # address, ifindex, prefix length, scope, flags, name
                if len(fields) == 6 and fields[5] == interface \
                        and fields[3] == '00':
                    return True
    except OSError:
        pass
    return False


def duid(conf) -> bytes:
    """This server's DUID: ``dhcpv6_server_duid`` or the interface's.

    :raises exception.ConfigError: an invalid DUID or no interface MAC.
    """
    g = conf.dhcp_agent
    if g.dhcpv6_server_duid:
        try:
            raw = bytes.fromhex(g.dhcpv6_server_duid.replace(':', ''))
        except ValueError:
            raw = b''
        if not 3 <= len(raw) <= 130:
            raise exception.ConfigError(
                reason=_('[dhcp_agent]dhcpv6_server_duid = "%s" is not a '
                         'DUID (3 to 130 octets in hex)')
                % g.dhcpv6_server_duid)
        return raw
    try:
        return server_mod.server_duid(g.interface)
    except (OSError, ValueError) as e:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]dhcpv6: no DUID for %(if)s (%(e)s); set '
                     'dhcpv6_server_duid') % {'if': g.interface, 'e': e})


class _Optional(server_mod.DHCPv6Server):
    """``dhcpv6 = auto``: a socket error is logged, DHCPv4 goes on."""

    def start(self) -> None:
        try:
            super().start()
        except OSError as e:
            LOG.error('DHCPv6 not served: cannot open its socket (%s); '
                      'set [dhcp_agent]dhcpv6 = false to silence this', e)
            self.transport = None


def make_server(conf, table, mtu: int) -> server_mod.DHCPv6Server | None:
    """The DHCPv6 component for ``conf``, or None when not served."""
    g = conf.dhcp_agent
    mode = g.dhcpv6
    if mode == 'false' or (mode == conf6.AUTO and not has_ipv6(g.interface)):
        LOG.info('DHCPv6 is not served on %s (dhcpv6 = %s)', g.interface,
                 mode)
        return None
    _dns4, dns6, dns_always = dns_advertise.advertised(conf)
    responder = handlers.Responder(
        duid(conf), netboot.Decider(g.boot_options_for_all_clients),
        rapid_commit=g.dhcpv6_rapid_commit, agent_dns=dns6,
        dns_always=dns_always)
    cls = _Optional if mode == conf6.AUTO else server_mod.DHCPv6Server

    def factory():
        return server_mod.Transport(g.interface, rcvbuf=g.receive_buffer)

    metrics.watch_table6(table)
    return cls(table, responder, factory, max_payload=mtu - 48)
