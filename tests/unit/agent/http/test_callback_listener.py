"""The callback listener binds to the device holding its address."""

import socket

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.http import listener
from vmetal_ironic.agent.http import registry
from vmetal_ironic.agent.http import tls
from vmetal_ironic.agent import sockets


def test_interface_of_a_local_address():
    assert listener.interface_of('127.0.0.1') == 'lo'
    assert listener.interface_of('192.0.2.201') is None


def _listener(address):
    material = tls.generate_material(address)
    return listener.CallbackListener(
        address, 0, registry.Registry(helpers.table([])),
        tls.server_context(material))


def test_the_listener_binds_to_the_device_of_its_address():
    lst = _listener('127.0.0.1')
    lst.start()
    try:
        assert lst.interface == 'lo' and lst.port
        sock = lst._server.socket
        bound = sock.getsockopt(socket.SOL_SOCKET, sockets.SO_BINDTODEVICE,
                                16)
        assert bound.rstrip(b'\0') == b'lo'
    finally:
        lst.stop()


def test_an_address_that_is_not_local_is_an_error():
    with pytest.raises(OSError, match='not an address of this host'):
        _listener('192.0.2.201').start()
