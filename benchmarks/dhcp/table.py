#!/usr/bin/env python3
"""Markdown table (and ratios) from the JSON lines of compare.py.

    benchmarks/dhcp/table.py benchmarks/dhcp/results/*.jsonl
"""
import json
import sys

CAND = 'vmetal-agent'
REFS = ('dnsmasq', 'kea')
COLS = [('rate_per_s', 'DORA/s', '%.0f'),
        ('gen_limited', 'perfdhcp-bound', '%s'),
        ('cpu_us_per_dora', 'CPU µs/DORA', '%.0f'),
        ('half_do_ms_p99', 'DO p99 ms @½', '%.2f'),
        ('half_ra_ms_p99', 'RA p99 ms @½', '%.2f'),
        ('rss_mb', 'RSS MB', '%.1f'),
        ('startup_s', 'start-up s', '%.2f'),
        ('change_add_s', 'add s', '%.3f'),
        ('change_modify_s', 'modify s', '%.3f'),
        ('verified', 'verified', '%s'),
        ('noisy_steps', 'noisy steps', '%s')]


def fmt(v, f):
    return '-' if v is None else f % v


def main(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if 'clients' in r and 'server' in r]
    by_n = {}
    for r in rows:
        by_n.setdefault(r['clients'], {})[r['server']] = r
    print('| N | server | ' + ' | '.join(c[1] for c in COLS) + ' |')
    print('| --- ' * (len(COLS) + 2) + '|')
    for n in sorted(by_n):
        for name in REFS + (CAND,):
            r = by_n[n].get(name)
            if r:
                print('| %d | %s | %s |' % (n, name, ' | '.join(
                    fmt(r.get(k), f) for k, _, f in COLS)))
    print()
    print('| N | ratio agent / ref | rate | CPU/DORA | DO p99 @½ | RSS | '
          'start-up |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for n in sorted(by_n):
        a = by_n[n].get(CAND)
        for ref in REFS:
            b = by_n[n].get(ref)
            if not a or not b:
                continue
            cells = []
            for k in ('rate_per_s', 'cpu_us_per_dora', 'half_do_ms_p99',
                      'rss_mb', 'startup_s'):
                x, y = a.get(k), b.get(k)
                cells.append('%.2f' % (x / y) if x is not None and y
                             else '-')
            print('| %d | agent / %s | %s |' % (n, ref, ' | '.join(cells)))


if __name__ == '__main__':
    main(sys.argv[1:])
