"""One production-layout Ironic shared by the tests of this directory.

ironic-api + two ironic-conductors (JSON-RPC), Ironic's and the IPAM
database on PostgreSQL, notifications on RabbitMQ in a virtual host of
their own (:mod:`tests.fixtures.ironic_prod`). The reconcile runs every
``INTERVAL`` seconds so that it races the notification driver in the
deletion burst and its lease can be watched.
"""

import shutil

import pytest

from tests.fixtures import ironic as ironic_env
from tests.fixtures import ironic_prod as prod_env

INTERVAL = 3
GRACE = 2

BURST_POOL = {'cidr': '10.64.0.1/20',
              'ranges': '10.64.0.10-10.64.15.250',
              'resource_classes': 'baremetal-burst'}


def check_available():
    ironic_env.check_available()
    if not shutil.which('rabbitmqctl'):
        pytest.skip('rabbitmqctl (Debian package rabbitmq-server) is needed '
                    'for a virtual host of the test run')


@pytest.fixture(scope='package')
def ironic_prod():
    check_available()
    env = prod_env.ProdIronic(
        reconcile_interval=INTERVAL,
        extra={'vmetal_ipam': {'pools': 'compute,storage,tiny,burst'},
               'vmetal_pool:burst': dict(BURST_POOL)},
        conductor_extra={'vmetal': {'reconcile_lease_grace': str(GRACE)}})
    try:
        env.start()
        yield env
    finally:
        env.stop()
