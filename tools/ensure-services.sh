#!/usr/bin/env bash
# Make sure the services the functional tests talk to are up: PostgreSQL,
# MariaDB and RabbitMQ on 127.0.0.1. Starts only what is down.
set -u

wait_for() {  # wait_for NAME SECONDS CMD...
    local name=$1 seconds=$2; shift 2
    local i
    for ((i = 0; i < seconds * 2; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "ensure-services: $name is not up after ${seconds}s" >&2
    return 1
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
mysql_up() { mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1; }
rabbit_up() { timeout 2 bash -c '</dev/tcp/127.0.0.1/5672'; }

rc=0
if ! pg_up; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_for PostgreSQL 30 pg_up || rc=1
fi
if ! mysql_up; then
    echo "ensure-services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    wait_for MariaDB 30 mysql_up || rc=1
fi
if ! rabbit_up; then
    echo "ensure-services: starting RabbitMQ"
    rabbitmq-server -detached || true
    wait_for RabbitMQ 60 rabbit_up || rc=1
fi
exit $rc
