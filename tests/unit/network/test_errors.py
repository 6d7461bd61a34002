"""vmetal errors become Ironic errors naming node, action and pool."""

from ironic.common import exception as ironic_exc
import pytest

from vmetal_ironic import exception
from vmetal_ironic.network import errors

NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'


@pytest.mark.parametrize('kind, error, expected', [
    (errors.NETWORK, exception.PoolExhausted(pool='tiny', size=1),
     ironic_exc.NetworkError),
    (errors.DHCP, exception.StoreError(reason='db down'),
     ironic_exc.FailedToUpdateDHCPOptOnPort),
    (errors.VALIDATE, exception.NoPoolForNode(node=NODE, reason='none'),
     ironic_exc.MissingParameterValue),
    (errors.VALIDATE, exception.UnknownPool(pool='x'),
     ironic_exc.InvalidParameterValue),
    (errors.NETWORK, KeyError('surprise'), ironic_exc.NetworkError),
])
def test_translated(kind, error, expected):
    with pytest.raises(expected) as e:
        with errors.translated(NODE, 'allocate an address', kind):
            raise error
    assert NODE in str(e.value)
    assert 'allocate an address' in str(e.value)
    assert e.value.__cause__ is error


def test_pool_named():
    with pytest.raises(ironic_exc.NetworkError, match='"tiny"'):
        with errors.translated(NODE, 'allocate'):
            raise exception.PoolExhausted(pool='tiny', size=1)


def test_ironic_errors_pass_through():
    original = ironic_exc.VifNotAttached(vif='v', node=NODE)
    with pytest.raises(ironic_exc.VifNotAttached) as e:
        with errors.translated(NODE, 'detach'):
            raise original
    assert e.value is original
