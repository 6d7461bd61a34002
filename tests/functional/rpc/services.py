"""Private PostgreSQL and RabbitMQ instances for the outage tests.

The machine's shared servers are never stopped or reconfigured: each test
that stops a service starts its own instance in a temporary directory,
stops it by PID afterwards and removes the directory.

* :class:`PrivatePostgres` listens on a Unix socket only (no TCP port), so
  it is reachable from every network namespace of the test bed through
  the file system.
* :class:`PrivateRabbit` runs ``rabbitmq-server`` under its own node name,
  ports, epmd port and Mnesia/log directories on the host's loopback;
  :func:`bridge` makes it reachable as 127.0.0.1:5672 inside a namespace
  (socat through a Unix socket).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from tests.fixtures import netns

PG_BIN = '/usr/lib/postgresql/15/bin'


def _free_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError('%s: not ready after %d s' % (what, timeout))


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class PrivatePostgres:
    """A throw-away PostgreSQL cluster run as ``postgres`` (trust auth)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='vmetal-pg-')
        os.chmod(self.dir, 0o777)
        self.data = os.path.join(self.dir, 'data')
        self.port = _free_port()
        shutil.chown(self.dir, 'postgres', 'postgres')
        self._as_pg(os.path.join(PG_BIN, 'initdb'), '-D', self.data,
                    '-U', 'postgres', '--auth=trust', '-E', 'UTF8')

    def _as_pg(self, *argv, timeout=60):
        return subprocess.run(['runuser', '-u', 'postgres', '--'] + list(argv),
                              check=True, timeout=timeout, cwd=self.dir,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)

    def url(self, database='postgres'):
        return ('postgresql+psycopg2://postgres@/%s?host=%s&port=%d'
                % (database, self.dir, self.port))

    def start(self):
        self._as_pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-w',
                    '-t', '30', '-l', os.path.join(self.dir, 'pg.log'),
                    '-o', "-k %s -c listen_addresses='' -p %d "
                    "-c fsync=off" % (self.dir, self.port), 'start')

    def pid(self):
        try:
            with open(os.path.join(self.data, 'postmaster.pid')) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def stop(self):
        """Stop the postmaster (SIGINT: fast shutdown) and wait."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGINT)
        _wait(lambda: not _pid_alive(pid), 30, 'PostgreSQL stop')

    def createdb(self, name):
        self._as_pg(os.path.join(PG_BIN, 'createdb'), '-h', self.dir, '-p',
                    str(self.port), '-U', 'postgres', name)

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRabbit:
    """A private ``rabbitmq-server`` node on 127.0.0.1 (guest/guest)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='vmetal-rmq-')
        os.chmod(self.dir, 0o755)
        for sub in ('mnesia', 'log'):
            os.mkdir(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        subprocess.run(['chown', '-R', 'rabbitmq:rabbitmq', self.dir],
                       check=True, timeout=10)
        self.port = _free_port()
        self.dist_port = _free_port()
        self.epmd_port = _free_port()
        self.node = 'vmetaltest%d@localhost' % os.getpid()
        self.proc = None
        self.pid_file = os.path.join(self.dir, 'node.pid')

    @property
    def url(self):
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port

    def _env(self):
        d = self.dir
        return {'PATH': os.environ.get('PATH', '/usr/sbin:/usr/bin'),
                'HOME': d, 'RABBITMQ_NODENAME': self.node,
                'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
                'RABBITMQ_NODE_PORT': str(self.port),
                'RABBITMQ_DIST_PORT': str(self.dist_port),
                'ERL_EPMD_PORT': str(self.epmd_port),
                'RABBITMQ_MNESIA_BASE': os.path.join(d, 'mnesia'),
                'RABBITMQ_LOG_BASE': os.path.join(d, 'log'),
                'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(
                    d, 'enabled_plugins'),
                'RABBITMQ_CONFIG_FILE': os.path.join(d, 'rabbitmq'),
                'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(
                    d, 'advanced.config'),
                'RABBITMQ_PID_FILE': self.pid_file}

    def _accepts(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port), 0.5):
                return True
        except OSError:
            return False

    def start(self, timeout=60):
        out = open(os.path.join(self.dir, 'server.out'), 'ab')
        self.proc = subprocess.Popen(['rabbitmq-server'], env=self._env(),
                                     cwd=self.dir, stdout=out,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        _wait(lambda: self._accepts() and self.node_pid(), timeout,
              'RabbitMQ start')

    def node_pid(self):
        """The Erlang VM's PID, from its pid file.

        su starts it in a session of its own: it is not in our group.
        """
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        """SIGTERM our node's VM (by its PID) and wait for it to exit."""
        if self.proc is None:
            return
        pid = self.node_pid()
        if pid is not None and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            _wait(lambda: not _pid_alive(pid), 60, 'RabbitMQ stop')
        netns.stop_process(self.proc, timeout=30)
        if os.path.exists(self.pid_file):
            os.unlink(self.pid_file)
        self.proc = None

    def _epmd_pid(self):
        r = subprocess.run(['ss', '-Hltnp', 'sport = :%d' % self.epmd_port],
                           stdout=subprocess.PIPE, text=True, timeout=10)
        for part in r.stdout.split('pid=')[1:]:
            return int(part.split(',')[0])
        return None

    def close(self):
        try:
            self.stop()
            pid = self._epmd_pid()          # the node's own epmd
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def bridge(ns, port, lab_dir, listen_port=5672):
    """127.0.0.1:``listen_port`` in ``ns`` forwards to host 127.0.0.1:port."""
    sock = os.path.join(lab_dir, 'amqp-%d.sock' % port)
    host = subprocess.Popen(
        ['socat', 'UNIX-LISTEN:%s,fork,mode=666' % sock,
         'TCP:127.0.0.1:%d' % port], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: os.path.exists(sock), 10, 'socat')
    inner = ns.popen('socat', 'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork'
                     % listen_port, 'UNIX-CONNECT:%s' % sock,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield 'rabbit://guest:guest@127.0.0.1:%d/' % listen_port
    finally:
        netns.stop_process(inner)
        netns.stop_process(host)
