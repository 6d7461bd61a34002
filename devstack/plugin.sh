#!/bin/bash
# plugin.sh - devstack plugin for vmetal-ironic (phase dispatch only)
#
# Enable with, in local.conf:
#   enable_plugin ironic https://opendev.org/openstack/ironic
#   enable_plugin vmetal-ironic <git url of vmetal-ironic>
#   enable_service vmetal-dhcp-agent    # optional: the DHCP/PXE agent

source "$DEST/vmetal-ironic/devstack/lib/vmetal-ironic"

if is_service_enabled ir-api ir-cond; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing vmetal-ironic"
        install_vmetal_ironic
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring vmetal-ironic"
        configure_vmetal_ironic
        init_vmetal_ironic
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if is_service_enabled vmetal-dhcp-agent; then
            echo_summary "Starting the vmetal DHCP agent"
            start_vmetal_dhcp_agent
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_vmetal_dhcp_agent
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_vmetal_ironic
    fi
fi
