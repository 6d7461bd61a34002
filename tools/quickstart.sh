#!/usr/bin/env bash
# Quick start: install vmetal-ironic in .venv, create the IPAM database (a
# SQLite file in ./quickstart-state) from etc/vmetal-ironic/quickstart.conf
# and walk through what an operator does with vmetal-ipam.
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh --python-only
mkdir -p quickstart-state
conf=etc/vmetal-ironic/quickstart.conf
export PATH="$PWD/.venv/bin:$PATH"

step() { printf '\n$ %s\n' "$*"; "$@"; }

step vmetal-dbsync --config-file $conf upgrade
step vmetal-ipam --config-file $conf check-config
step vmetal-ipam --config-file $conf allocation create node-a1 --resource-class baremetal-compute
step vmetal-ipam --config-file $conf allocation create node-s1 --resource-class storage
step vmetal-ipam --config-file $conf allocation pin node-a2 192.168.100.240
step vmetal-ipam --config-file $conf allocation list
step vmetal-ipam --config-file $conf pool list
printf '\nState kept in ./quickstart-state (delete it to start over).\n'
