"""Options of the agent's callback path and of the TLS it serves.

Ironic's conductor calls the ramdisk at the ``callback_url`` of its
heartbeat, an address on the provisioning segment it cannot reach. The
agent rewrites that URL to one on its callback listener (cluster side) and
forwards the conductor's calls to the ramdisk. These options live in the
agent's group ``[dhcp_agent]`` (see :mod:`vmetal_ironic.conf.dhcp_agent`
and doc/callback.md).
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _

DEFAULT_STATE_DIR = '/var/lib/vmetal-ironic/agent'

callback_opts = [
    cfg.PortOpt('callback_port',
                default=8081,
                help=_('TCP port of the callback listener on the cluster '
                       'side, which carries the conductor\'s calls to the '
                       'ramdisks (HTTPS). 0 turns it off: heartbeats then '
                       'pass unchanged and the conductor must reach the '
                       'provisioning segment itself. It also stays off '
                       'with a warning when the HTTP proxy is off or has '
                       'no ironic_api_url (no heartbeat passes the agent '
                       'then).')),
    cfg.IPOpt('callback_address',
              help=_('The agent\'s address on the cluster side: the '
                     'callback listener binds it and the rewritten '
                     'callback URLs name it, so the conductor must reach '
                     'it, and the agent\'s certificate carries it as an IP '
                     'address. Unset: the local address of the route to '
                     'the host of ironic_api_url.')),
    cfg.StrOpt('callback_cert_file',
               help=_('PEM certificate (chain) the callback listener '
                      'serves; it must name callback_address as an IP '
                      'subject alternative name. Set together with '
                      'callback_key_file. Unset: a certificate signed by '
                      'the agent\'s own CA, generated once into '
                      'state_dir.')),
    cfg.StrOpt('callback_key_file',
               help=_('PEM private key of callback_cert_file.')),
    cfg.StrOpt('callback_ca_file',
               help=_('PEM CA certificate that signed callback_cert_file; '
                      'the agent hands it to the conductor in each '
                      'heartbeat ("agent_verify_ca"). Unset with '
                      'callback_cert_file set: callback_cert_file '
                      'itself (a self-signed certificate).')),
    cfg.StrOpt('ramdisk_ca_file',
               help=_('CA bundle to verify ramdisks that listen on HTTPS '
                      'with a certificate of their own and send no '
                      '"agent_verify_ca" in their heartbeat. Unset: the '
                      'system\'s trust store. A ramdisk that sends '
                      '"agent_verify_ca" (automatic TLS) is verified '
                      'against exactly that certificate.')),
    cfg.StrOpt('state_dir',
               default=DEFAULT_STATE_DIR,
               help=_('Directory where the agent keeps what must survive a '
                      'restart: its CA and callback certificate and the '
                      'secret its callback URLs are derived from (a '
                      'running ramdisk must keep its callback URL and '
                      'Ironic refuses a changed certificate). Created '
                      '(mode 0700) when set to another path. If this is '
                      'the default and the directory does not exist or is '
                      'not writable, the agent generates them in memory '
                      'with a warning: ramdisks that run across an agent '
                      'restart then fail their next heartbeat.')),
    cfg.FloatOpt('callback_connect_timeout',
                 default=10.0,
                 min=0.1,
                 help=_('Seconds to wait for a connection to a ramdisk; '
                        'after it the conductor gets 504.')),
    cfg.FloatOpt('callback_read_timeout',
                 default=300.0,
                 min=0.1,
                 help=_('Seconds to wait for data from a ramdisk or from '
                        'the conductor before the connection is dropped '
                        '(synchronous agent commands answer only when '
                        'done).')),
    cfg.IntOpt('callback_max_body_size',
               default=128 * 1024 * 1024,
               min=0,
               help=_('Largest request body, in bytes, the conductor may '
                      'send to a ramdisk (a command carries e.g. the '
                      'config drive); a larger one gets 413.')),
    cfg.IntOpt('callback_max_connections',
               default=100,
               min=1,
               help=_('Conductor connections served at once; more get '
                      '503.')),
]

tls_proxy_opts = [
    cfg.PortOpt('https_port',
                default=0,
                help=_('TCP port of the HTTP proxy\'s HTTPS listener on the '
                       'provisioning address (the same routes as '
                       'http_port), so that the agent token and inspection '
                       'data do not cross the provisioning segment in '
                       'clear. 0: no HTTPS listener. Needs https_cert_file '
                       'and https_key_file.')),
    cfg.StrOpt('https_cert_file',
               help=_('PEM certificate (chain) of the HTTPS listener; it '
                      'must name server_address as an IP subject '
                      'alternative name. The ramdisk must trust its CA '
                      '(see doc/callback.md).')),
    cfg.StrOpt('https_key_file',
               help=_('PEM private key of https_cert_file.')),
]

opts = callback_opts + tls_proxy_opts
