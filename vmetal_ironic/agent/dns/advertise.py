"""Which DNS server the agent's DHCP replies name (doc/dns.md).

When the boot-name responder runs (``[dhcp_agent]dns_names`` set) and
``dns_advertise`` is not ``never``, DHCPv4 option 6 and DHCPv6 option 23
name the agent's own provisioning-side address: the service address
(``service_address``, the VIP of active-active replicas) or else
``server_address``, and ``server_address6`` for DHCPv6. With
``fallback`` only hosts whose pool (or reservation) has no DNS servers
get it; with ``always`` every host gets it in place of its own.
"""

from __future__ import annotations

import ipaddress

from vmetal_ironic.conf.dhcp_agent import dns as dns_conf


def advertised(conf) -> tuple[bytes, bytes, bool]:
    """(IPv4 address, IPv6 address, always) to put in DHCP replies.

    :param conf: the agent's ConfigOpts with ``[dhcp_agent]``.
    :returns: packed addresses, ``b''`` when not advertised; ``always``:
        whether they replace the hosts' own DNS servers.
    """
    g = conf.dhcp_agent
    if not g.dns_names or g.dns_advertise == dns_conf.ADVERTISE_NEVER:
        return b'', b'', False
    v4 = g.service_address or g.server_address
    v6 = g.server_address6
    return (ipaddress.IPv4Address(v4).packed if v4 else b'',
            ipaddress.IPv6Address(v6).packed if v6 else b'',
            g.dns_advertise == dns_conf.ADVERTISE_ALWAYS)
