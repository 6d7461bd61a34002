"""Options of the ``[vmetal_rpc]`` group: change notices over a broker.

Read by both sides: the Ironic drivers publish a notice after each
committed change of reservations or boot profiles, the DHCP agent listens
for it. Unset ``transport_url``: no notices, the agent only polls.
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _

GROUP = 'vmetal_rpc'

opts = [
    cfg.StrOpt('transport_url',
               secret=True,
               help=_('oslo.messaging transport URL of the broker the '
                      'change notices go through (for example '
                      'rabbit://user:pass@host:5672/). Unset: no notices '
                      'are published or listened for, the agent reads the '
                      'database every [dhcp_agent]sync_interval only. It is '
                      'deliberately separate from Ironic\'s [DEFAULT]'
                      'transport_url: push is enabled explicitly, on the '
                      'Ironic side and on the agents alike.')),
    cfg.StrOpt('topic',
               default='vmetal_reservations',
               help=_('Fanout topic of the change notices.')),
    cfg.FloatOpt('publish_timeout',
                 default=2.0,
                 min=0.1,
                 help=_('Seconds the background publisher waits for the '
                        'broker per notice. Publishing never runs in the '
                        'request path: a notice that cannot be sent is '
                        'dropped (the agents catch up by generation).')),
    cfg.IntOpt('queue_size',
               default=1000,
               min=1,
               help=_('Notices waiting for the broker at most; when full '
                      'the oldest is dropped.')),
]


def register_opts(conf):
    """Register the ``[vmetal_rpc]`` options on ``conf``."""
    conf.register_opts(opts, group=GROUP)


def list_opts():
    """The ``[vmetal_rpc]`` options for oslo-config-generator."""
    return [(GROUP, opts)]
