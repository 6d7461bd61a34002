"""Options of the agent's metrics and health endpoint (``[dhcp_agent]``).

The endpoint serves ``/metrics`` (Prometheus), ``/healthz`` and
``/readyz`` on the agent's cluster-side address, never on the
provisioning segment; see doc/metrics.md.
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _

opts = [
    cfg.PortOpt('metrics_port',
                default=9180,
                help=_('TCP port of the metrics and health endpoint '
                       '(/metrics, /healthz, /readyz) on metrics_address. '
                       '0 turns it off.')),
    cfg.IPOpt('metrics_address',
              help=_('Cluster-side address the metrics endpoint binds (it '
                     'is bound to the network device holding it too). '
                     'Unset: the callback listener\'s address '
                     '(callback_address, or the local address of the '
                     'route to the host of ironic_api_url). It must not '
                     'be the provisioning address (server_address).')),
    cfg.FloatOpt('pool_stats_ttl',
                 default=30.0,
                 min=0.0,
                 help=_('Seconds the per-pool IPAM statistics are cached '
                        'between two reads of the IPAM database, so that '
                        'scrapes never load it more often. 0: read at '
                        'every scrape.')),
]
