"""Network namespaces, bridges and the DHCP agent process for functional
tests. Reusable by other agent tests (TFTP, HTTP proxy, QEMU)::

    from tests.functional.agent import netns

    with netns.Lab() as lab:                       # unique names, cleanup
        seg = lab.segment('prov')                  # a bridge in its own ns
        agent_ns = lab.namespace('agent')
        agent_ns.attach(seg, 'prov0', '172.22.0.2/24')
        client = lab.namespace('client')
        client.attach(seg, 'eth0', mac='52:54:00:00:00:01')
        agent = netns.start_agent(lab, agent_ns, conf_dict, hosts_doc)
        agent_ns.run('ss', '-uln')

Nothing touches the host's interfaces: every veth is created inside the
namespaces (its peer moved straight into the segment's namespace), and
every address is private. :class:`Lab` deletes its namespaces (killing
what still runs inside, by PID) and :class:`AgentProcess` kills its
process by PID. Needs root.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
PYTHON = os.path.join(REPO, '.venv', 'bin', 'python')
if not os.path.exists(PYTHON):
    import sys
    PYTHON = sys.executable

AGENT_CAPS = '+net_raw,+net_bind_service'


def have_root():
    """True when running as root (namespaces need it)."""
    return os.geteuid() == 0


def missing_binaries(*names):
    """Names of the programs not found on PATH (or /usr/sbin, /sbin)."""
    path = os.environ.get('PATH', '') + ':/usr/sbin:/sbin'
    return [n for n in names if shutil.which(n, path=path) is None]


def run(*argv, check=True, timeout=30, **kw):
    """Run a command, returning CompletedProcess (text mode)."""
    return subprocess.run(argv, check=check, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          **kw)


class Namespace:
    """One network namespace."""

    def __init__(self, lab, name):
        self.lab = lab
        self.name = name
        self._n = 0

    def cmd(self, *argv):
        """argv prefixed to run inside this namespace."""
        return ['ip', 'netns', 'exec', self.name] + list(argv)

    def run(self, *argv, **kw):
        """Run a command inside this namespace."""
        return run(*self.cmd(*argv), **kw)

    def popen(self, *argv, **kw):
        """Start a process inside this namespace (own process group)."""
        kw.setdefault('stdout', subprocess.PIPE)
        kw.setdefault('stderr', subprocess.STDOUT)
        kw.setdefault('stdin', subprocess.DEVNULL)
        p = subprocess.Popen(self.cmd(*argv), start_new_session=True, **kw)
        self.lab.procs.append(p)
        return p

    def attach(self, segment, ifname, address=None, mac=None):
        """Create ``ifname`` here, plugged into ``segment``'s bridge."""
        self._n += 1
        peer = 'p%s%d' % (secrets.token_hex(3), self._n)
        run('ip', '-n', segment.ns.name, 'link', 'add', peer, 'type', 'veth',
            'peer', 'name', ifname, 'netns', self.name)
        run('ip', '-n', segment.ns.name, 'link', 'set', peer, 'master',
            segment.bridge, 'up')
        if mac:
            run('ip', '-n', self.name, 'link', 'set', ifname, 'address', mac)
        run('ip', '-n', self.name, 'link', 'set', ifname, 'up')
        if address:
            run('ip', '-n', self.name, 'addr', 'add', address, 'dev', ifname)
        return ifname

    def route(self, *args):
        """``ip route add ARGS`` here."""
        run('ip', '-n', self.name, 'route', 'add', *args)


class Segment:
    """An L2 segment: a bridge in a namespace of its own."""

    def __init__(self, ns, bridge='br0'):
        self.ns = ns
        self.bridge = bridge
        run('ip', '-n', ns.name, 'link', 'add', bridge, 'type', 'bridge',
            'stp_state', '0', 'forward_delay', '0')
        run('ip', '-n', ns.name, 'link', 'set', bridge, 'up')


class Lab:
    """A set of namespaces with unique names; a context manager."""

    def __init__(self, prefix='vmt'):
        self.tag = '%s%s' % (prefix, secrets.token_hex(3))
        self.namespaces = []
        self.procs = []
        self.tmpdir = tempfile.mkdtemp(prefix='vmetal-lab-')
        os.chmod(self.tmpdir, 0o755)

    def namespace(self, role):
        """Create namespace ``<tag>-<role>`` with lo up."""
        ns = Namespace(self, '%s-%s' % (self.tag, role))
        run('ip', 'netns', 'add', ns.name)
        self.namespaces.append(ns)
        run('ip', '-n', ns.name, 'link', 'set', 'lo', 'up')
        return ns

    def segment(self, role):
        """Create an L2 segment (bridge) named after ``role``."""
        return Segment(self.namespace('sw' + role))

    def path(self, name):
        """A path in the lab's world-readable temporary directory."""
        return os.path.join(self.tmpdir, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop processes, delete namespaces and the temporary directory."""
        for p in self.procs:
            stop_process(p)
        for ns in reversed(self.namespaces):
            pids = run('ip', 'netns', 'pids', ns.name, check=False).stdout
            for pid in pids.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run('ip', 'netns', 'del', ns.name, check=False)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def stop_process(p, timeout=5):
    """SIGTERM a process group we started, then SIGKILL; never raises."""
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=timeout)
    except ProcessLookupError:
        pass


class AgentProcess:
    """A running vmetal-dhcp-agent; ``log()`` returns its output so far."""

    def __init__(self, proc, log_path, conf_path, hosts_path):
        self.proc = proc
        self.log_path = log_path
        self.conf_path = conf_path
        self.hosts_path = hosts_path

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def wait_log(self, text, timeout=15):
        """Wait until ``text`` appears in the log; False on timeout/exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if self.proc.poll() is not None:
                return text in self.log()
            time.sleep(0.05)
        return False

    def write_hosts(self, doc):
        """Rewrite the reservations file (atomically)."""
        write_json(self.hosts_path, doc)

    def hup(self):
        """Send SIGHUP (reload)."""
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        stop_process(self.proc)


def write_json(path, doc):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_conf(path, sections):
    """Write an ini file from {section: {key: value}}."""
    with open(path, 'w') as f:
        for section, values in sections.items():
            f.write('[%s]\n' % section)
            for k, v in values.items():
                f.write('%s = %s\n' % (k, v))
    os.chmod(path, 0o644)


def setpriv_argv(user='nobody', group=None):
    """Prefix that runs a command as ``user`` with the agent's capabilities.

    Only CAP_NET_RAW and CAP_NET_BIND_SERVICE, ambient so that they
    survive the exec of the Python interpreter.
    """
    group = group or ('nogroup' if user == 'nobody' else user)
    return ['setpriv', '--reuid', user, '--regid', group, '--clear-groups',
            '--inh-caps', AGENT_CAPS, '--ambient-caps', AGENT_CAPS,
            '--bounding-set', '-all,' + AGENT_CAPS]


def start_agent(lab, ns, dhcp_agent, hosts=None, extra_sections=None,
                as_user='nobody', wait=True, name='agent'):
    """Start vmetal-dhcp-agent in ``ns``.

    :param dhcp_agent: the ``[dhcp_agent]`` options (dict).
    :param hosts: a reservations document; written to the lab dir and set
        as ``reservations_file`` unless None.
    :param extra_sections: more ini sections ({'vmetal_database': {...}}).
    :param as_user: run as this user with only CAP_NET_RAW and
        CAP_NET_BIND_SERVICE (ambient, via setpriv); None runs as root.
    :param wait: wait for "DHCP server started" (raises if it exits).
    """
    conf_path = lab.path('%s.conf' % name)
    hosts_path = lab.path('%s-hosts.json' % name)
    log_path = lab.path('%s.log' % name)
    opts = dict(dhcp_agent)
    if hosts is not None:
        write_json(hosts_path, hosts)
        opts.setdefault('reservations_file', hosts_path)
    sections = {'DEFAULT': {'debug': 'true', 'use_stderr': 'true'},
                'dhcp_agent': opts}
    sections.update(extra_sections or {})
    write_conf(conf_path, sections)
    argv = [PYTHON, '-m', 'vmetal_ironic.cmd.dhcp_agent',
            '--config-file', conf_path]
    if as_user:
        argv = setpriv_argv(as_user) + argv
    logf = open(log_path, 'w')
    os.chmod(log_path, 0o644)
    proc = ns.popen(*argv, stdout=logf, stderr=subprocess.STDOUT,
                    cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    logf.close()
    agent = AgentProcess(proc, log_path, conf_path, hosts_path)
    if wait and not agent.wait_log('DHCP server started', timeout=20):
        out = agent.log()
        agent.stop()
        raise RuntimeError('agent did not start: %s' % out[-2000:])
    return agent
