#!/usr/bin/env bash
# Quick start. Part 1 (needs root: network namespaces): three segments on
# this machine, nothing routed between them but vmetal-dhcp-agent; a real
# Ironic enrolls, cleans, deploys, undeploys and deletes one node across
# the agent, and what happened is printed (DHCP, boot files, lookup,
# heartbeat, the conductor's calls through the callback listener). Nothing
# is left behind. Part 2: the IPAM command line on a SQLite file
# (./quickstart-state), from etc/vmetal-ironic/quickstart.conf.
#
#   tools/quickstart.sh          both parts
#   tools/quickstart.sh --tls    part 1 with an HTTPS (automatic TLS) ramdisk
set -eu
cd "$(dirname "$0")/.."
# Set up (or refresh) .venv when it is missing or older than what defines
# it; the package is installed editable, so code changes need no reinstall.
# As root on a fresh machine that is the whole set-up (Debian packages
# too: udhcpc, iPXE ...); otherwise only the virtualenv.
stamp=.venv/.quickstart-setup
setup_args=--python-only
need_setup=false
[ -e "$stamp" ] || need_setup=true
defining="setup.cfg setup.py pyproject.toml"
defining="$defining requirements.txt test-requirements.txt"
# shellcheck disable=SC2086
[ -z "$(find $defining -newer "$stamp" 2>/dev/null)" ] || need_setup=true
if [ "$(id -u)" = 0 ]; then
    setup_args=
    command -v udhcpc >/dev/null || need_setup=true
fi
if $need_setup; then
    tools/setup.sh $setup_args
    touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

if [ "$(id -u)" = 0 ] && command -v udhcpc >/dev/null; then
    printf '== Part 1: a deploy across the agent ==\n'
    PYTHONPATH=$PWD .venv/bin/python -m tests.fixtures.demo "$@"
else
    printf '== Part 1 skipped: needs root and udhcpc (tools/setup.sh) ==\n'
fi

printf '\n== Part 2: the IPAM command line ==\n'
mkdir -p quickstart-state
conf=etc/vmetal-ironic/quickstart.conf
step() { printf '\n$ %s\n' "$*"; "$@"; }
step vmetal-dbsync --config-file $conf upgrade
step vmetal-ipam --config-file $conf allocation create node-a1 --resource-class baremetal-compute
step vmetal-ipam --config-file $conf allocation list
step vmetal-ipam --config-file $conf pool list
printf '\nState kept in ./quickstart-state (delete it to start over).\n'
