"""The periodic reconcile forgets only nodes Ironic confirms are gone."""

from unittest import mock

from ironic.common import exception as ironic_exc
from ironic import objects

from vmetal_ironic import exception
from vmetal_ironic.ipam import records
from vmetal_ironic.network import reconcile

from tests.fixtures import fake_task
from tests.fixtures import network as fixtures

GONE = '00000000-0000-4000-8000-000000000001'
RACE = '00000000-0000-4000-8000-000000000002'


def _alloc(node):
    return records.Allocation(pool=fixtures.POOL4, node_uuid=node,
                              address='192.168.100.10')


@mock.patch.object(objects.Node, 'get_by_uuid', autospec=True)
@mock.patch.object(objects.Node, 'list', autospec=True)
def test_run(mock_list, mock_get):
    mgr = fake_task.ipam()
    mgr.list_allocations.return_value = [_alloc(fixtures.NODE),
                                         _alloc(GONE), _alloc(RACE)]
    mgr.list_reservations.return_value = []
    mgr.forget.return_value = [_alloc(GONE)]
    mock_list.return_value = [mock.Mock(uuid=fixtures.NODE)]

    def get(ctx, uuid):
        if uuid == GONE:
            raise ironic_exc.NodeNotFound(node=uuid)
        return mock.Mock(uuid=uuid)     # RACE: enrolled meanwhile
    mock_get.side_effect = get
    mgr.purge_tombstones.return_value = 3
    assert reconcile.run('ctx', mgr) == [GONE]
    mgr.forget.assert_called_once_with(GONE)
    mgr.purge_tombstones.assert_called_once_with()


@mock.patch.object(objects.Node, 'list', autospec=True)
def test_store_down(mock_list):
    mgr = fake_task.ipam()
    mgr.list_allocations.side_effect = exception.StoreError(reason='down')
    mock_list.return_value = []
    assert reconcile.run('ctx', mgr) == []


@mock.patch.object(objects.Node, 'list', autospec=True)
def test_purge_failure_is_logged(mock_list, caplog):
    mgr = fake_task.ipam()
    mgr.list_allocations.return_value = []
    mgr.purge_tombstones.side_effect = exception.StoreError(reason='down')
    mock_list.return_value = []
    assert reconcile.run('ctx', mgr) == []
    assert 'tombstones' in caplog.text
