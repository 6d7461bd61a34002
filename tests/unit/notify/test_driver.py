"""The notification driver: parse, queue, never raise."""

from unittest import mock

from oslo_config import cfg

from vmetal_ironic import conf as vmetal_conf
from vmetal_ironic.notify import driver

NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'


def _message(event='baremetal.node.delete.end', uuid=NODE):
    return {'event_type': event, 'publisher_id': 'ironic-api.h',
            'payload': {'ironic_object.name': 'NodeCRUDPayload',
                        'ironic_object.data': {'uuid': uuid}}}


def test_node_uuid_of():
    assert driver.node_uuid_of(_message()) == NODE
    assert driver.node_uuid_of({'event_type': driver.DELETE_END,
                                'payload': {'uuid': NODE}}) == NODE
    assert driver.node_uuid_of(_message('baremetal.node.delete.start')) \
        is None
    assert driver.node_uuid_of(_message(uuid=None)) is None
    for junk in (None, 'x', {'event_type': driver.DELETE_END},
                 {'event_type': driver.DELETE_END, 'payload': 'x'}):
        assert driver.node_uuid_of(junk) is None


def _driver():
    conf = cfg.ConfigOpts()
    conf([])
    return driver.VmetalNotifyDriver(conf, ['topic'], None)


def test_notify_releases_in_background():
    d = _driver()
    release = mock.Mock()
    d.releaser = driver.Releaser(release)
    d.notify({}, _message(), 'INFO', None)
    d.notify({}, _message('baremetal.node.update.end'), 'INFO', None)
    d.releaser.join()
    release.assert_called_once_with(NODE)


def test_notify_never_raises():
    d = _driver()
    release = mock.Mock(side_effect=RuntimeError('db down'))
    d.releaser = driver.Releaser(release)
    d.notify({}, _message(), 'INFO', None)
    d.releaser.join()
    d.notify({}, object(), 'INFO', None)
    with mock.patch.object(d.releaser, 'submit', autospec=True,
                           side_effect=RuntimeError('full')):
        d.notify({}, _message(), 'INFO', None)
    # The worker survived the failure.
    release.side_effect = None
    d.notify({}, _message(), 'INFO', None)
    d.releaser.join()
    assert release.call_count == 2


def test_disabled():
    d = _driver()
    conf = vmetal_conf.CONF
    conf.set_override('release_on_delete_notification', False, 'vmetal')
    try:
        d.releaser = mock.Mock()
        d.notify({}, _message(), 'INFO', None)
        d.releaser.submit.assert_not_called()
    finally:
        conf.clear_override('release_on_delete_notification', 'vmetal')


def test_release_node_forgets():
    mgr = mock.Mock()
    mgr.forget.return_value = []
    with mock.patch('vmetal_ironic.ipam.manager.get_manager',
                    autospec=True, return_value=mgr):
        driver.release_node(NODE)
    mgr.forget.assert_called_once_with(NODE)
