#!/usr/bin/env bash
# Install everything vmetal-ironic and its tests need on a fresh Debian 12
# machine: the Debian packages of tools/debian-packages.txt, a virtualenv
# (.venv) with the project and its test requirements, the database and
# message servers started (tools/ensure-services.sh) and the test
# credentials working. Idempotent: what already works is left alone.
#
#   tools/setup.sh                 everything (what the tests need)
#   tools/setup.sh --python-only   only the virtualenv (the quick start)
#
# The test credentials (doc/testing.md): VMETAL_TEST_PG_URL (default
# postgresql://postgres@127.0.0.1:5432/test) and VMETAL_TEST_MYSQL_URL
# (default mysql://root@127.0.0.1:3306/).
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
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Servers in these packages must not start on the machine's interfaces
    # (tools/ensure-services.sh starts the databases on 127.0.0.1).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libvirtd's QEMU driver looks up its compiled-in user and group even when
# qemu.conf says root (tests/fixtures/libvirt.py); Debian creates them in
# libvirt-daemon-system, which we do not install (its default network).
if ! $python_only && [ "$(id -u)" -eq 0 ] \
        && ! getent passwd libvirt-qemu >/dev/null; then
    getent group kvm >/dev/null || groupadd --system kvm
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    useradd --system --no-create-home --home-dir /var/lib/libvirt \
        --shell /usr/sbin/nologin -g kvm libvirt-qemu
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements.txt -r test-requirements.txt
.venv/bin/pip install -q -e .

$python_only && exit 0

tools/ensure-services.sh

# -- test credentials ----------------------------------------------------
# Each check connects the way the tests do (tests/functional/databases.py);
# only when it fails is the server changed, and only for that user on
# 127.0.0.1. Debian's defaults refuse both: PostgreSQL asks a password over
# TCP, MariaDB's root logs in by unix socket only.
db_check() {  # db_check pg|mysql: 0 when the tests' credentials work
    .venv/bin/python - "$1" <<'PY'
import sys
from tests.functional import databases
admin = {'pg': databases._pg_admin, 'mysql': databases._mysql_admin}
try:
    admin[sys.argv[1]]().close()
except Exception as exc:
    print(str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
    sys.exit(1)
PY
}
db_field() {  # db_field pg|mysql user|password|database|host
    .venv/bin/python - "$1" "$2" <<'PY'
import sys
from tests.functional import databases
server = {'pg': databases.pg_server, 'mysql': databases.mysql_server}
print(server[sys.argv[1]]()[sys.argv[2]])
PY
}
sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

bootstrap_pg() {
    local user password database hba version
    user=$(db_field pg user); password=$(db_field pg password)
    database=$(db_field pg database)
    echo "setup: PostgreSQL: making user $user work on 127.0.0.1"
    runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<SQL
SELECT format('CREATE ROLE %I LOGIN SUPERUSER', $(sql_quote "$user"))
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $(sql_quote "$user"))
\gexec
SQL
    if [ -n "$password" ]; then
        runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c \
            "ALTER ROLE \"$user\" PASSWORD $(sql_quote "$password")"
    else
        # No password in the URL: trust this one user from 127.0.0.1 only.
        version=$(ls /etc/postgresql | sort -V | tail -n1)
        hba=/etc/postgresql/$version/main/pg_hba.conf
        if ! grep -q "^host all $user 127.0.0.1/32 trust" "$hba"; then
            sed -i "1i host all $user 127.0.0.1/32 trust  # vmetal-ironic tests" "$hba"
            runuser -u postgres -- psql -q -c 'SELECT pg_reload_conf()' >/dev/null
        fi
    fi
    if [ -n "$database" ]; then
        runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<SQL
SELECT format('CREATE DATABASE %I OWNER %I', $(sql_quote "$database"), $(sql_quote "$user"))
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = $(sql_quote "$database"))
\gexec
SQL
    fi
}

bootstrap_mysql() {
    local user password
    user=$(db_field mysql user); password=$(db_field mysql password)
    echo "setup: MariaDB: making user $user work on 127.0.0.1"
    if [ "$user" = root ]; then
        # Keep the socket login of Debian's maintenance scripts, add TCP.
        mariadb -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket
            OR mysql_native_password USING PASSWORD($(sql_quote "$password"))"
    else
        local host
        for host in localhost 127.0.0.1; do
            mariadb -e "CREATE USER IF NOT EXISTS '$user'@'$host'
                IDENTIFIED BY $(sql_quote "$password");
                GRANT ALL PRIVILEGES ON *.* TO '$user'@'$host'"
        done
    fi
}

for db in pg mysql; do
    if reason=$(db_check $db); then
        continue
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: the test credentials of $db do not work ($reason): run tools/setup.sh as root or set VMETAL_TEST_${db^^}_URL (doc/testing.md)" >&2
        exit 1
    fi
    case $db in
        pg) bootstrap_pg ;;
        mysql) bootstrap_mysql ;;
    esac
    if ! reason=$(db_check $db); then
        echo "setup: the test credentials of $db still do not work: $reason" >&2
        exit 1
    fi
done
