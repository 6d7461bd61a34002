"""The benchmarks a user runs with one command still run.

Each is run as a user would, at a size that takes seconds, and what it
reports is checked: the hooks' commit counts are also issue 16's rule (one
commit per hook at most, none where nothing changed).
"""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BENCHMARKS = os.path.join(REPO, 'benchmarks')


def _run(*argv, timeout=300):
    result = subprocess.run((sys.executable,) + argv, cwd=REPO,
                            timeout=timeout, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_hook_cpu_bench_runs_and_commits_at_most_once_per_hook(tmp_path):
    out = tmp_path / 'hooks.json'
    _run(os.path.join(BENCHMARKS, 'hook_cpu_bench.py'), '--deploys', '3',
         '--backends', 'sqlite', '--json', str(out))
    results = json.loads(out.read_text())['sqlite']
    deploy, undeploy = results['deploy'], results['undeploy']
    assert deploy['cpu_ms'] > 0 and undeploy['cpu_ms'] > 0
    hooks = dict(deploy['hooks'], **{'undeploy ' + k: v for k, v in
                                     undeploy['hooks'].items()})
    assert all(h['commits'] <= 1 for h in hooks.values()), hooks
    # The allocation and the boot profile are written; the hooks that
    # only read commit nothing.
    assert deploy['hooks']['add_provisioning_network']['commits'] == 1
    assert deploy['hooks']['update_dhcp_opts']['commits'] == 1
    for name in ('validate', 'configure_tenant_networks',
                 'remove_provisioning_network'):
        assert deploy['hooks'][name]['commits'] == 0, name


def test_ipam_bench_runs(tmp_path):
    result = _run(os.path.join(BENCHMARKS, 'ipam_bench.py'), '--backends',
                  'sqlite', '--samples', '20', '--procs', '2', '--per-proc',
                  '20')
    [line] = [x for x in result.stdout.splitlines() if x.startswith('[{')]
    [sqlite] = json.loads(line)
    assert sqlite['throughput_per_s'] > 0
    for fill in ('0%', '50%', '90%', '90% recycle'):
        assert 0 < sqlite[fill]['p50_ms'] <= sqlite[fill]['p99_ms'], fill
