#!/usr/bin/env bash
# Candidate wrapper of vmetal-dhcp-agent for /work/shared/bench (run_bench.py,
# compare.py): the same job as the reference servers (servers/dnsmasq.sh,
# servers/kea.sh), from the BENCH_* variables the harness exports.
#
#   agent.sh start            write the reservations file and the config into
#                             $BENCH_WORKDIR, exec the agent in the foreground
#   agent.sh change MAC IP    add or re-address MAC's reservation on the running
#                             agent: rewrite the reservations file + SIGHUP
#
# VMETAL_PYTHON (default: the repository's .venv python) runs the agent.
set -euo pipefail

: "${BENCH_IFACE:?}" "${BENCH_WORKDIR:?}" "${BENCH_RESERVATIONS:?}"
: "${BENCH_PREFIXLEN:?}" "${BENCH_SERVER_IP:?}"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${VMETAL_PYTHON:-$REPO/.venv/bin/python}"
BOOTFILE="${BENCH_BOOTFILE:-undionly.kpxe}"
NEXT_SERVER="${BENCH_NEXT_SERVER:-$BENCH_SERVER_IP}"
IPXE_URL="${BENCH_IPXE_URL:-http://${BENCH_SERVER_IP}/boot.ipxe}"
W="$BENCH_WORKDIR"
CONF="$W/agent.conf"
HOSTS="$W/reservations.json"
LINES="$W/reservations.csv"
PIDFILE="$W/agent.pid"

write_json() {  # MAC,IP lines ($LINES) -> $HOSTS, atomically
    awk -F, -v prefix="$BENCH_PREFIXLEN" -v url="$IPXE_URL" '
        BEGIN { printf "{\"defaults\": {\"prefix\": %s, \"lease_time\": 43200, \"ipxe_script_url\": \"%s\"},\n \"hosts\": [", prefix, url; n = 0 }
        /^#/ || NF < 2 { next }
        { printf "%s\n  {\"mac\": \"%s\", \"ip\": \"%s\"}", (n++ ? "," : ""), $1, $2 }
        END { print "]}" }' "$LINES" > "$HOSTS.tmp"
    mv "$HOSTS.tmp" "$HOSTS"
}

start() {
    grep -v '^#' "$BENCH_RESERVATIONS" > "$LINES"
    write_json
    cat > "$CONF" <<CONF
[DEFAULT]
use_stderr = true
debug = false
default_log_levels = vmetal_ironic=WARNING
[dhcp_agent]
interface = $BENCH_IFACE
server_address = $BENCH_SERVER_IP
reservations_file = $HOSTS
bios_bootfile = $BOOTFILE
tftp_server = $NEXT_SERVER
lease_time = 43200
boot_options_for_all_clients = true
CONF
    echo $$ > "$PIDFILE"
    exec "$PY" -m vmetal_ironic.cmd.dhcp_agent --config-file "$CONF"
}

change() {
    local mac="${1:?MAC}" ip="${2:?IP}"
    if grep -qi "^$mac," "$LINES"; then
        sed -i "s/^$mac,.*/$mac,$ip/I" "$LINES"
    else
        echo "$mac,$ip" >> "$LINES"
    fi
    write_json
    kill -HUP "$(cat "$PIDFILE")"
}

case "${1:-}" in
    start) start ;;
    change) shift; change "$@" ;;
    *) echo "usage: $0 start | change MAC IP" >&2; exit 2 ;;
esac
