#!/usr/bin/env bash
# Install everything vmetal-ironic and its tests need on a fresh Debian
# machine: the Debian packages of tools/debian-packages.txt, and a virtualenv
# (.venv) with the project and its test requirements. Idempotent.
#
#   tools/setup.sh                 everything (what the tests need)
#   tools/setup.sh --python-only   only the virtualenv (the quick start)
set -eu
cd "$(dirname "$0")/.."

python_only=false
[ "${1:-}" = "--python-only" ] && python_only=true

packages=$(sed -e 's/#.*//' tools/debian-packages.txt | xargs)
missing=()
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] && ! $python_only; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Servers in these packages must not start on the machine's interfaces.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements.txt -r test-requirements.txt
.venv/bin/pip install -q -e .
