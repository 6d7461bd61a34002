"""Fakes of the TFTP unit tests: a socket and a server that record."""

import pytest


class FakeSocket:
    """A connected UDP socket that records what is sent."""

    def __init__(self, fd=100):
        self.sent = []
        self.closed = False
        self._fd = fd

    def send(self, data):
        self.sent.append(bytes(data))

    def sendto(self, data, addr):
        self.sent.append((bytes(data), addr))

    def fileno(self):
        return -1 if self.closed else self._fd

    def close(self):
        self.closed = True


class FakeServer:
    """What a transfer needs of its server.

    That is ``retries`` and ``transfer_done``.
    """

    def __init__(self, retries=3):
        self.retries = retries
        self.done = []

    def transfer_done(self, transfer):
        self.done.append(transfer)


@pytest.fixture
def fake_socket():
    return FakeSocket()


@pytest.fixture
def fake_server():
    return FakeServer()
