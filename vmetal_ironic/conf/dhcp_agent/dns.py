"""``[dhcp_agent]`` options of the boot-name DNS responder (doc/dns.md).

With the two segments separated, Ironic's ``[deploy]http_url`` must name
a host that the conductor (cluster side) and the ramdisk (provisioning
side) each resolve to their own side's server: split DNS. The agent
answers these names on the provisioning side with its own address, and
names itself as DNS server in its DHCP replies.
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _

#: ``dns_advertise`` values.
ADVERTISE_FALLBACK = 'fallback'
ADVERTISE_ALWAYS = 'always'
ADVERTISE_NEVER = 'never'

opts = [
    cfg.ListOpt('dns_names',
                default=[],
                help=_('Host names (e.g. images.vmetal.test, '
                       'ironic.vmetal.test) that the agent answers on the '
                       'provisioning side with its own address there: A '
                       'with service_address or else server_address, AAAA '
                       'with server_address6 when set. Other names get '
                       'NXDOMAIN (no recursion). Empty (the default): no '
                       'DNS responder.')),
    cfg.StrOpt('dns_advertise',
               default=ADVERTISE_FALLBACK,
               choices=[(ADVERTISE_FALLBACK,
                         _('name the agent as DNS server (DHCPv4 option '
                           '6, DHCPv6 option 23) to hosts whose pool or '
                           'reservation has no DNS servers of its own')),
                        (ADVERTISE_ALWAYS,
                         _('name only the agent, to every host: their '
                           'own DNS servers stay in the node\'s '
                           'network_data for the deployed OS, but the '
                           'ramdisk and iPXE resolve through the agent '
                           'alone')),
                        (ADVERTISE_NEVER,
                         _('never (the hosts get their DNS servers some '
                           'other way)'))],
               help=_('Whether DHCP replies name the agent as DNS server '
                      'when dns_names is set.')),
    cfg.IntOpt('dns_ttl',
               default=60,
               min=0,
               max=86400,
               help=_('TTL in seconds of the DNS answers.')),
    cfg.PortOpt('dns_port',
                default=53,
                help=_('UDP port of the DNS responder.')),
    cfg.IntOpt('dns_rate_limit',
               default=100,
               min=1,
               help=_('DNS queries answered per second and source '
                      'address; more are dropped (counted in '
                      'vmetal_dns_dropped_total).')),
]
