"""The ironic.conf of a test Ironic (see ironic-notes section 6)."""

import os
import uuid

POOLS = {
    'compute': {'cidr': '192.168.100.1/24',
                'ranges': '192.168.100.10-192.168.100.200',
                'exclude': '192.168.100.50',
                'dns_servers': '192.168.100.2',
                'resource_classes': 'baremetal-compute',
                'mtu': '9000',
                'routes': '10.0.0.0/8 via 192.168.100.254'},
    'storage': {'cidr': '192.168.200.1/24',
                'ranges': '192.168.200.10-192.168.200.20',
                'dns_servers': '192.168.200.2',
                'resource_classes': 'baremetal-storage'},
    'tiny': {'cidr': '192.168.250.1/24',
             'ranges': '192.168.250.10-192.168.250.10'},
}


def write(env):
    """Write ``env.conf_file`` for an IronicEnv and create its dirs."""
    s = env.state
    for sub in ('tftp', 'tftp/master', 'http', 'http/master', 'tmp',
                'dnsmasq/opts', 'dnsmasq/hosts', 'images'):
        os.makedirs(os.path.join(s, sub), exist_ok=True)
    drivers = ['log'] + (['vmetal'] if env.notifications else [])
    conf = {
        'DEFAULT': {
            'auth_strategy': 'noauth', 'rpc_transport': 'none',
            'host': 'vmetal-test-%s' % uuid.uuid4().hex[:6],
            'enabled_hardware_types':
                'fake-hardware,vmetal-ipmi,vmetal-redfish',
            'enabled_power_interfaces': 'fake,ipmitool,redfish',
            'enabled_management_interfaces':
                'noop,fake,ipmitool,redfish',
            'enabled_boot_interfaces': 'ipxe,pxe,fake',
            'enabled_deploy_interfaces':
                'custom-agent,direct,ramdisk,fake',
            'enabled_network_interfaces': 'vmetal,noop',
            'default_network_interface': 'vmetal',
            'enabled_inspect_interfaces': 'no-inspect',
            'enabled_rescue_interfaces': 'no-rescue,agent',
            'enabled_vendor_interfaces': 'no-vendor,ipmitool',
            'notification_level': 'info',
            'tempdir': os.path.join(s, 'tmp'),
            'log_file': env.log_file,
            'debug': 'false',
            'use_stderr': 'false',
        },
        'api': {'host_ip': '127.0.0.1', 'port': str(env.api_port)},
        'database': {'connection': 'sqlite:///%s/ironic.sqlite' % s},
        'dhcp': {'dhcp_provider': 'vmetal'},
        'dnsmasq': {'dhcp_optsdir': os.path.join(s, 'dnsmasq/opts'),
                    'dhcp_hostsdir': os.path.join(s, 'dnsmasq/hosts'),
                    'dhcp_leasefile': os.path.join(s, 'dnsmasq/l')},
        'deploy': {'http_url': 'http://127.0.0.1:%d' % env.http_port,
                   'http_root': os.path.join(s, 'http'),
                   'erase_devices_priority': '0',
                   'erase_devices_metadata_priority': '0',
                   'default_boot_mode': 'uefi'},
        'pxe': {'tftp_root': os.path.join(s, 'tftp'),
                'tftp_master_path': os.path.join(s, 'tftp/master'),
                'tftp_server': '127.0.0.1'},
        'conductor': {'automated_clean': 'true',
                      'file_url_allowed_paths': s,
                      'deploy_callback_timeout': '120',
                      'clean_callback_timeout': '120',
                      'sync_power_state_interval': '-1',
                      'check_provision_state_interval': '5',
                      'heartbeat_interval': '5',
                      'workers_pool_size': '100'},
        'agent': {'require_tls': 'false',
                  'deploy_logs_collect': 'never',
                  'command_wait_interval': '1',
                  'post_deploy_get_power_state_retry_interval': '1'},
        'service_catalog': {'endpoint_override': env.url},
        'oslo_messaging_notifications': {'driver': drivers},
        'oslo_concurrency': {'lock_path': os.path.join(s, 'tmp')},
        'vmetal': {'reconcile_interval': str(env.reconcile_interval)},
        'vmetal_database': {'connection': env.ipam_url},
        'vmetal_ipam': {'pools': ','.join(POOLS),
                        'default_pool': 'compute',
                        'quarantine': '0',
                        'allocation_scope': 'deployment'},
    }
    for name, options in POOLS.items():
        conf['vmetal_pool:' + name] = dict(options)
    for section, options in env.extra.items():
        conf.setdefault(section, {}).update(options)
    lines = []
    for section, options in conf.items():
        lines.append('[%s]' % section)
        for key, value in options.items():
            for v in (value if isinstance(value, list) else [value]):
                lines.append('%s = %s' % (key, v))
        lines.append('')
    with open(env.conf_file, 'w') as fp:
        fp.write('\n'.join(lines))
