"""Start-up descriptor budgeting: the configured TFTP transfers and HTTP
and callback connections must fit the open-file limit."""

import resource
from unittest import mock

import pytest

from vmetal_ironic.agent import service
from vmetal_ironic import exception

ALL = ['dhcp', 'tftp', 'http-proxy', 'callback-listener']


def test_budget_names_each_option(agent_conf):
    parts = dict(service.descriptor_budget(agent_conf, ALL))
    assert sum(parts.values()) == 2 * 500 + 2 * 200 + 2 * 100 + 64
    assert any('tftp_max_transfers = 500' in k for k in parts)
    assert any('http_max_connections = 200' in k for k in parts)
    assert any('callback_max_connections = 100' in k for k in parts)


def test_components_that_are_off_are_not_counted(agent_conf):
    parts = service.descriptor_budget(agent_conf, ['dhcp'])
    assert parts == [('margin', service.DESCRIPTOR_MARGIN)]


def test_https_listener_counts_twice(agent_conf):
    agent_conf.set_override('https_port', 8443, 'dhcp_agent')
    parts = dict(service.descriptor_budget(agent_conf, ['http-proxy']))
    assert sum(parts.values()) == 4 * 200 + 64


def _limits(soft, hard):
    return mock.patch.object(service.resource, 'getrlimit', autospec=True,
                             return_value=(soft, hard))


def test_soft_limit_raised_when_the_hard_one_fits(agent_conf):
    with _limits(1024, 4096), \
            mock.patch.object(service.resource, 'setrlimit',
                              autospec=True) as setr:
        assert service.check_descriptors(agent_conf, ALL) == 1664
    setr.assert_called_once_with(resource.RLIMIT_NOFILE, (1664, 4096))


def test_configuration_that_cannot_fit_is_refused(agent_conf):
    with _limits(1024, 1024), \
            mock.patch.object(service.resource, 'setrlimit',
                              autospec=True) as setr:
        with pytest.raises(exception.ConfigError) as e:
            service.check_descriptors(agent_conf, ALL)
    assert not setr.called
    text = str(e.value)
    for word in ('1664', '1024', 'tftp_max_transfers',
                 'http_max_connections', 'callback_max_connections'):
        assert word in text


def test_a_fitting_configuration_is_left_alone(agent_conf):
    agent_conf.set_override('tftp_max_transfers', 100, 'dhcp_agent')
    with _limits(1024, 1024), \
            mock.patch.object(service.resource, 'setrlimit',
                              autospec=True) as setr:
        assert service.check_descriptors(agent_conf, ALL) == 864
    assert not setr.called
