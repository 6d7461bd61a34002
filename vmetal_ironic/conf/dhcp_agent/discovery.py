"""``[dhcp_agent]`` options of discovery: leases for unknown MACs.

Off by default: an unknown MAC gets silence. With ``discovery_enabled``,
an unknown MAC on the segment of a pool with a ``discovery_range`` gets a
short lease from it and the discovery boot profile (doc/discovery.md).
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _

opts = [
    cfg.BoolOpt('discovery_enabled',
                default=False,
                help=_('Answer MACs that have no reservation with a short '
                       'lease from the discovery_range of the pool whose '
                       'network holds the agent\'s server_address (or the '
                       'relay address), and the discovery boot options, so '
                       'that a server that is not enrolled can boot the '
                       'inspection ramdisk. Needs the "ipam" source (the '
                       'leases live in the IPAM database).')),
    cfg.IntOpt('discovery_lease_time',
               default=300,
               min=30,
               max=86400,
               help=_('Lease time in seconds of a discovery lease.')),
    cfg.IntOpt('discovery_max_leases',
               default=64,
               min=1,
               help=_('Discovery leases of one pool in use at once, for '
                      'all agents together (counted in the database). '
                      'Past it, new unknown MACs get silence.')),
    cfg.IntOpt('discovery_mac_rate',
               default=20,
               min=1,
               help=_('Discovery requests answered per MAC per minute '
                      '(a netboot takes about 6: PXE ROM, iPXE, ramdisk).')),
    cfg.IntOpt('discovery_total_rate',
               default=50,
               min=1,
               help=_('Discovery requests handled per second by this '
                      'agent, all MACs together: each may write to the '
                      'database.')),
    cfg.IntOpt('discovery_expire_interval',
               default=30,
               min=1,
               help=_('Seconds between two sweeps that free expired '
                      'discovery leases and those of MACs that got a '
                      'reservation.')),
    cfg.StrOpt('discovery_ipxe_script_url',
               help=_('The discovery boot profile: option 67 for iPXE '
                      'clients. Unset: the agent\'s ipxe_script_url '
                      '(Ironic\'s boot.ipxe, which chains '
                      '[pxe]ipxe_fallback_script, e.g. an inspector.ipxe '
                      'the operator writes, for a MAC Ironic does not '
                      'know).')),
    cfg.StrOpt('discovery_bios_bootfile',
               help=_('Discovery boot profile: BIOS PXE boot file. Unset: '
                      'bios_bootfile.')),
    cfg.StrOpt('discovery_uefi_bootfile',
               help=_('Discovery boot profile: UEFI x86 PXE boot file. '
                      'Unset: uefi_bootfile.')),
    cfg.StrOpt('discovery_arm64_bootfile',
               help=_('Discovery boot profile: UEFI ARM PXE boot file. '
                      'Unset: arm64_bootfile.')),
    cfg.StrOpt('discovery_http_boot_url',
               help=_('Discovery boot profile: UEFI HTTP boot URL. Unset: '
                      'http_boot_url.')),
]
