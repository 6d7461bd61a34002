"""Options of the agent's bridge between the two segments.

The DHCP agent serves, on its provisioning address, a read-only TFTP server
(the iPXE binaries) and an HTTP proxy to Ironic's HTTP boot server and to
the few Ironic API endpoints the ramdisk uses. These options live in the
agent's group ``[dhcp_agent]`` (see :mod:`vmetal_ironic.conf.dhcp_agent`).
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _

DEFAULT_TFTP_ROOT = '/var/lib/vmetal-ironic/tftpboot'

tftp_opts = [
    cfg.BoolOpt('tftp_enabled',
                default=True,
                help=_('Serve TFTP on the provisioning address. Turn it off '
                       'when TFTP is served elsewhere (then point '
                       '"tftp_server" at that server).')),
    cfg.StrOpt('tftp_root',
               default=DEFAULT_TFTP_ROOT,
               help=_('Directory served read-only by TFTP, e.g. holding '
                      'the iPXE binaries undionly.kpxe, snponly.efi and '
                      'ipxe.efi (Debian package "ipxe" ships them in '
                      '/usr/lib/ipxe). Paths that leave it, including '
                      'symbolic links that point outside it, are refused: '
                      'copy the files in (cp -L). If this is the default '
                      'and the directory does not exist, TFTP stays off '
                      'with a warning.')),
    cfg.PortOpt('tftp_port',
                default=69,
                help=_('UDP port of the TFTP server.')),
    cfg.FloatOpt('tftp_timeout',
                 default=1.0,
                 min=0.05,
                 max=255,
                 help=_('Seconds to wait for an acknowledgement before a '
                        'block is sent again, unless the client negotiates '
                        'the "timeout" option (RFC 2349).')),
    cfg.IntOpt('tftp_retries',
               default=5,
               min=1,
               max=100,
               help=_('How many times a block is sent again before the '
                      'transfer is abandoned.')),
    cfg.IntOpt('tftp_max_blksize',
               default=65464,
               min=512,
               max=65464,
               help=_('Largest block size granted to a client that asks '
                      'for the "blksize" option (RFC 2348).')),
    cfg.IntOpt('tftp_max_windowsize',
               default=64,
               min=1,
               max=65535,
               help=_('Largest window granted to a client that asks for '
                      'the "windowsize" option (RFC 7440).')),
    cfg.IntOpt('tftp_max_transfers',
               default=500,
               min=1,
               help=_('Transfers served at once; a read request beyond '
                      'this gets a TFTP error and the client retries.')),
]

http_opts = [
    cfg.BoolOpt('http_proxy_enabled',
                default=True,
                help=_('Serve the HTTP proxy to Ironic on the provisioning '
                       'address. When it is on, the iPXE script URL handed '
                       'out by DHCP should point at it. With neither '
                       'ironic_http_url nor ironic_api_url set it stays '
                       'off with a warning.')),
    cfg.PortOpt('http_port',
                default=8080,
                help=_('TCP port of the HTTP proxy.')),
    cfg.URIOpt('ironic_http_url',
               schemes=['http', 'https'],
               help=_('URL of Ironic\'s HTTP boot server as seen from the '
                      'cluster side (Ironic\'s own [deploy]http_url, e.g. '
                      '"http://ironic.cluster:8088"). Every path that is '
                      'not an API path is forwarded below it (GET and '
                      'HEAD only).')),
    cfg.URIOpt('ironic_api_url',
               schemes=['http', 'https'],
               help=_('URL of the Ironic API as seen from the cluster side '
                      '(e.g. "http://ironic.cluster:6385"). Only "/", '
                      '"/v1", "/v1/lookup", "/v1/heartbeat/<node>" and '
                      '"/v1/continue_inspection" are forwarded to it. '
                      'Unset: those paths answer 404.')),
    cfg.StrOpt('ironic_cafile',
               help=_('CA bundle used to verify https upstreams. Unset: '
                      'the system\'s trust store.')),
    cfg.FloatOpt('http_connect_timeout',
                 default=10.0,
                 min=0.1,
                 help=_('Seconds to wait for a connection to an upstream; '
                        'after it the client gets 504.')),
    cfg.FloatOpt('http_read_timeout',
                 default=60.0,
                 min=0.1,
                 help=_('Seconds to wait for data from an upstream or a '
                        'client before the connection is dropped.')),
    cfg.IntOpt('http_max_body_size',
               default=1048576,
               min=0,
               max=16777216,
               help=_('Largest request body, in bytes, accepted on the API '
                      'paths; a larger one gets 413.')),
    cfg.IntOpt('http_max_connections',
               default=200,
               min=1,
               max=4096,
               help=_('Client connections served at once; more get 503.')),
    cfg.IntOpt('http_max_connections_per_client',
               default=16,
               min=0,
               max=4096,
               help=_('Of http_max_connections, how many one client '
                      'address may hold at once; more get 503. 0: no cap '
                      'of its own. Clients behind one NAT share it.')),
    cfg.FloatOpt('http_header_timeout',
                 default=10.0,
                 min=0.1,
                 max=3600,
                 help=_('Seconds a client has to send a whole request head '
                        '(one deadline for all its lines, also between '
                        'requests on a kept-alive connection); after it the '
                        'connection is closed. http_read_timeout still '
                        'bounds each wait for data.')),
]

# Limits of the TFTP server against hostile clients on the provisioning
# segment (see doc/limits.md).
tftp_limit_opts = [
    cfg.IntOpt('tftp_max_timeout',
               default=5,
               min=1,
               max=255,
               help=_('Largest retransmission timeout, in seconds, a client '
                      'may negotiate with the "timeout" option (RFC 2349); '
                      'a larger value is not acknowledged and '
                      'tftp_timeout applies.')),
    cfg.FloatOpt('tftp_max_transfer_time',
                 default=600.0,
                 min=1.0,
                 help=_('Seconds after which a transfer is ended whatever '
                        'its progress, so a client that acknowledges just '
                        'before each timeout cannot hold a slot.')),
    cfg.IntOpt('tftp_max_transfers_per_client',
               default=32,
               min=1,
               help=_('Transfers served at once to one IP address; a read '
                      'request beyond this gets "Server busy". One machine '
                      'fetches a file or two at a time; a NAT or a test '
                      'host may run a few dozen.')),
    cfg.IntOpt('tftp_initial_retries',
               default=1,
               min=0,
               max=100,
               help=_('Retransmissions of the OACK or of the first block '
                      'before the client has acknowledged anything; a '
                      'request from a spoofed source then costs only this '
                      'many packets more. After the first acknowledgement '
                      'tftp_retries applies.')),
]

# The bridge over IPv6: TFTP and the HTTP proxy listen on server_address6
# too (doc/ipv6.md).
ipv6_opts = [
    cfg.IntOpt('limit_prefix6',
               default=64,
               min=1,
               max=128,
               help=_('Per-client limits over IPv6 (TFTP transfers and '
                      'HTTP connections per client, rate-limited log '
                      'lines): an address reserved for a node has its own '
                      'share, as an IPv4 address has; every other IPv6 '
                      'source shares one with all unreserved sources of '
                      'its prefix of this length, so that a host cycling '
                      'through the addresses of the segment\'s /64 holds '
                      'one share. 128: every address its own share.')),
]

opts = tftp_opts + http_opts + tftp_limit_opts + ipv6_opts
