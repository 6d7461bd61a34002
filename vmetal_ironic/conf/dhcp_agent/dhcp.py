"""``[dhcp_agent]`` options of the DHCP server: interface, address, sources."""

from oslo_config import cfg

from vmetal_ironic.i18n import _

SOURCE_FILE = 'file'
SOURCE_IPAM = 'ipam'

opts = [
    cfg.StrOpt('interface',
               help=_('The provisioning interface to serve DHCP on. '
                      'Replies leave only through it and requests arriving '
                      'on any other interface are never answered. '
                      'Required.')),
    cfg.IPOpt('server_address',
              version=4,
              help=_("This agent's IPv4 address on the provisioning "
                     'segment: the DHCP server identifier (option 54), '
                     'the source of replies sent at layer 2 and the '
                     'default next-server. It may differ from the '
                     'gateway. Required.')),
    cfg.IPOpt('service_address',
              version=4,
              help=_('Active-active replicas: the shared provisioning-side '
                     'address (a VIP that VRRP, e.g. keepalived, moves '
                     'between the replicas) that Ironic\'s [deploy]http_url '
                     'and the ramdisk\'s API URL name. When set, the HTTP '
                     'proxy listens on every address of the interface (its '
                     'own and this one, whichever replica holds it), the '
                     'default iPXE script URL names this address, and '
                     'callback_address may be a shared cluster-side address '
                     'that this replica does not hold yet. DHCP stays on '
                     'server_address: each replica is its own DHCP server '
                     '(see doc/active-active.md). Unset: one agent.')),
    cfg.ListOpt('sources',
                default=[],
                item_type=cfg.types.String(
                    choices=[SOURCE_FILE, SOURCE_IPAM]),
                help=_('Where reservations come from: "file" (the '
                       'reservations_file, standalone mode) and/or "ipam" '
                       '(the IPAM database of [vmetal_database]). Empty: '
                       '"file" when reservations_file is set, otherwise '
                       '"ipam". With both, a MAC in the file wins over the '
                       'database.')),
    cfg.StrOpt('reservations_file',
               help=_('JSON file of static reservations for standalone '
                      'mode ({"defaults": {...}, "hosts": [...]}; see '
                      'doc/agent.md). Re-read on SIGHUP; an invalid file '
                      'on reload is logged and the previous reservations '
                      'stay in service.')),
    cfg.IntOpt('lease_time',
               default=3600,
               min=10,
               help=_('Lease time in seconds when neither the reservation '
                      'nor its pool sets one. T1 and T2 are 1/2 and 7/8 '
                      'of it.')),
    cfg.StrOpt('bios_bootfile',
               default='undionly.kpxe',
               help=_('Boot file for PXE clients of architecture 0 (BIOS) '
                      'or of an unknown architecture.')),
    cfg.StrOpt('uefi_bootfile',
               default='snponly.efi',
               help=_('Boot file for UEFI x86 PXE clients (architectures '
                      '6, 7 and 9).')),
    cfg.StrOpt('arm64_bootfile',
               default='snponly-arm64.efi',
               help=_('Boot file for UEFI ARM PXE clients (architectures '
                      '10 and 11).')),
    cfg.StrOpt('ipxe_script_url',
               help=_('Option 67 for iPXE clients (user class "iPXE" or '
                      'option 175) whose boot profile has no '
                      'ipxe_script_url. Unset: Ironic\'s boot.ipxe through '
                      'the agent\'s own HTTP proxy, '
                      'http://<server_address>:<http_port>/boot.ipxe, when '
                      'the proxy runs (http_proxy_enabled with '
                      'ironic_http_url and server_address set); otherwise '
                      'such clients get no boot file (which avoids a '
                      'chainload loop).')),
    cfg.StrOpt('http_boot_url',
               help=_('Boot URL for UEFI HTTP boot clients (vendor class '
                      '"HTTPClient") whose boot profile has none.')),
    cfg.StrOpt('tftp_server',
               help=_('Next-server (siaddr) and option 66 for PXE clients '
                      'whose boot profile names none. Unset: '
                      'server_address.')),
    cfg.BoolOpt('boot_options_for_all_clients',
                default=False,
                help=_('Send the boot options (file, next-server, option '
                       '66/67) to every client, as dnsmasq and Kea do, '
                       'not only to clients that identify as network '
                       'booting (vendor class PXEClient/HTTPClient, user '
                       'class iPXE, option 93).')),
    cfg.IntOpt('sync_interval',
               default=10,
               min=1,
               help=_('Seconds between two incremental reads of the IPAM '
                      'database (source "ipam"). A reservation written to '
                      'the database is served at most this long after.')),
    cfg.IntOpt('receive_buffer',
               default=4 * 1024 * 1024,
               min=65536,
               help=_('Receive buffer of the DHCP socket in bytes (the '
                      'kernel caps it at net.core.rmem_max unless the '
                      'agent has CAP_NET_ADMIN).')),
]
