"""``[dhcp_agent]`` options of the DHCPv6 server (doc/ipv6.md)."""

from oslo_config import cfg

from vmetal_ironic.i18n import _

AUTO = 'auto'

opts = [
    cfg.StrOpt('dhcpv6',
               default=AUTO,
               choices=[(AUTO, _('serve DHCPv6 when the interface has a '
                                 'global or ULA IPv6 address at start-up; '
                                 'a socket that cannot be opened is logged '
                                 'and DHCPv4 goes on alone')),
                        ('true', _('always; a socket error stops the '
                                   'agent')),
                        ('false', _('never'))],
               help=_('Serve DHCPv6 (RFC 8415) on the provisioning '
                      'interface, from the IPv6 reservations of the same '
                      'sources as DHCPv4 (IPAM reservations in IPv6 pools, '
                      'reservations file entries whose "ip" is IPv6). '
                      'Router advertisements are the segment router\'s '
                      'job (with the managed flag).')),
    cfg.IPOpt('server_address6',
              version=6,
              help=_("This agent's IPv6 address on the provisioning "
                     'segment (global or ULA; a link-local one is scoped '
                     'to the interface). The TFTP server and the HTTP '
                     'proxy listen on it too, on the same ports as on '
                     'server_address, and the default Boot File URLs '
                     '(option 59) name it: tftp://[addr]/<file> for UEFI '
                     'PXE, http://[addr]:<http_port>/boot.ipxe for iPXE '
                     'and http://[addr]:<http_port>/<uefi_bootfile> for '
                     'UEFI HTTP boot (through the proxy). Unset: TFTP and '
                     'the proxy listen on IPv4 only and PXE clients get '
                     'no boot URL over DHCPv6 by default.')),
    cfg.IPOpt('dhcpv6_tftp_server',
              version=6,
              help=_('The TFTP server of the tftp://[...]/ boot URLs; '
                     'default server_address6.')),
    cfg.StrOpt('dhcpv6_ipxe_script_url',
               help=_('Boot File URL (option 59) for iPXE clients over '
                      'DHCPv6 whose boot profile has none reachable over '
                      'IPv6 (a URL naming an IPv4 literal is not); e.g. '
                      'http://[fd00:1::2]:8080/boot.ipxe. Unset: Ironic\'s '
                      'boot.ipxe through the agent\'s proxy, '
                      'http://[server_address6]:<http_port>/boot.ipxe, '
                      'when the proxy runs (http_proxy_enabled with '
                      'ironic_http_url and server_address6 set).')),
    cfg.StrOpt('dhcpv6_http_boot_url',
               help=_('Boot File URL for UEFI HTTP boot clients (vendor '
                      'class HTTPClient) over DHCPv6 whose boot profile '
                      'has none reachable over IPv6. Unset: the UEFI boot '
                      'file (uefi_bootfile) from Ironic\'s HTTP boot '
                      'server through the agent\'s proxy, '
                      'http://[server_address6]:<http_port>/<uefi_bootfile>'
                      ', when the proxy runs as for '
                      'dhcpv6_ipxe_script_url.')),
    cfg.BoolOpt('dhcpv6_rapid_commit',
                default=True,
                help=_('Answer a SOLICIT carrying Rapid Commit (option 14) '
                       'with a REPLY at once (two messages instead of '
                       'four; safe with reservations: no other server '
                       'should serve these clients).')),
    cfg.StrOpt('dhcpv6_server_duid',
               help=_('This server\'s DUID in hex (option 2). Default: a '
                      'DUID-LL of the interface\'s MAC, stable across '
                      'restarts.')),
]
