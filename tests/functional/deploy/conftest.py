import pytest

from tests.fixtures import netns

BINARIES = ('ip', 'setpriv', 'udhcpc', '/usr/lib/cni/macvlan',
            '/usr/lib/cni/bridge', '/usr/lib/cni/static')


@pytest.fixture
def lab():
    netns.require_root_and('network namespaces and CNI plugins', *BINARIES)
    with netns.Lab('vmk') as lab:
        yield lab
