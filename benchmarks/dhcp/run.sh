#!/usr/bin/env bash
# Benchmark vmetal-dhcp-agent side by side with dnsmasq and Kea, using the
# shared harness (/work/shared/bench, not copied here) with agent.sh as the
# candidate. Runs as root (network namespaces). Results: JSON lines and the
# printed tables in $OUT (default benchmarks/dhcp/results/).
#
#   sudo benchmarks/dhcp/run.sh                 # full: N=1000,10000 then 100000
#   BENCH_REPEAT=3 sudo benchmarks/dhcp/run.sh  # more runs per point
#   sudo benchmarks/dhcp/run.sh quick           # N=1000 only, --skip-load
#   sudo benchmarks/dhcp/run.sh 100k            # N=100000 only
#   sudo benchmarks/dhcp/run.sh sizes 1000      # the given N (<= 60,000) only
#
# Budget: with --repeat 1 the full run takes about 25 minutes on a quiet
# 2-core machine (dnsmasq at 10,000 and 100,000 clients is most of it). At
# 100,000 clients the avalanche step is skipped (--no-avalanche): dnsmasq
# rewrites its whole lease file per lease and would need hours to lease
# 100,000 clients; the rate search still runs on all three servers.
# On a shared machine the harness waits up to 300 s for quiet before each
# step; BENCH_QUIET (default 20 s, 1 retry) bounds that, and the steps that
# ran beside other load are counted in the "noisy_steps" of each result.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="${BENCH_DIR:-/work/shared/bench}"
OUT="${OUT:-$HERE/results}"
REPEAT="${BENCH_REPEAT:-1}"
QUIET=(--quiet-timeout "${BENCH_QUIET:-20}" --noise-retries 1)
mkdir -p "$OUT"
CAND=(--candidate-name vmetal-agent
      --candidate-cmd "exec $HERE/agent.sh start"
      --candidate-change-cmd "$HERE/agent.sh change")
stamp="$(date -u +%Y%m%dT%H%M%SZ)"

run() {  # label, compare.py args...
    local label="$1"; shift
    {
        echo "# $label  $(date -u)  load: $(uptime)"
        "$BENCH/compare.py" --refs dnsmasq,kea "${CAND[@]}" \
            --out "$OUT/$stamp.jsonl" --details-dir "$OUT/$stamp-details" \
            "${QUIET[@]}" "$@"
        echo "# end $(date -u)  load: $(uptime)"
    } 2>&1 | tee -a "$OUT/$stamp.txt"
}

run_100k() {
    # 100,000 addresses do not fit after 10.77.1.0 in the default /16:
    # use 10.76.0.0/15 (the server stays 10.77.0.1, clients from 10.76.1.0).
    export BENCH_PREFIXLEN=15
    run "N=100000" --clients 100000 --repeat 1 --no-avalanche \
        --ip-start 10.76.1.0 --max-time-each 600
    unset BENCH_PREFIXLEN
}

case "${1:-full}" in
    quick)
        run quick --clients 1000 --repeat 1 --skip-load ;;
    full)
        run "N=1000,10000" --clients 1000,10000 --repeat "$REPEAT" \
            --max-time-each 900
        run_100k ;;
    100k)
        run_100k ;;
    sizes)
        run "N=${2:?sizes N[,N...]}" --clients "$2" --repeat "$REPEAT" \
            --max-time-each 900 ;;
    *) echo "usage: $0 [full|quick|100k|sizes N[,N...]]" >&2; exit 2 ;;
esac
