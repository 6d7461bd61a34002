"""``vmetal-dhcp-agent``: the reservation-only DHCPv4/PXE agent.

    vmetal-dhcp-agent --config-file /etc/vmetal-ironic/dhcp-agent.conf

Exit status: 0 after SIGTERM/SIGINT, 2 for invalid configuration or
reservations file, 1 when a socket cannot be opened (privileges, unknown
interface) or the IPAM database cannot be read at start-up.
"""

import sys

from oslo_log import log

from vmetal_ironic.agent import service
from vmetal_ironic.cmd import common
from vmetal_ironic import exception

LOG = log.getLogger(__name__)


def main(argv=None):
    """Parse the configuration, build the service and run it."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = common.parse_config(
            argv, 'vmetal-dhcp-agent',
            description='Reservation-only DHCPv4/PXE server for the '
                        'provisioning segment.')
    except exception.VmetalError as e:
        return common.fail(e, common.status_for(e))
    svc = service.AgentService(conf)
    try:
        svc.build()
        svc.run()
    except exception.VmetalError as e:
        LOG.error('%s', e)
        return common.fail(e, common.status_for(e))
    except OSError as e:
        LOG.error('Cannot open the agent sockets: %s', e)
        return common.fail('vmetal-dhcp-agent: cannot open sockets on '
                           '[dhcp_agent]interface=%s: %s'
                           % (conf.dhcp_agent.interface, e),
                           common.EXIT_FAILURE)
    return common.EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
