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

    That is ``retries``, ``initial_retries``, ``max_transfer_time``,
    ``log_refusal`` and ``transfer_done``.
    """

    def __init__(self, retries=3, initial_retries=3,
                 max_transfer_time=600.0):
        self.retries = retries
        self.initial_retries = initial_retries
        self.max_transfer_time = max_transfer_time
        self.done = []
        self.refusals = []

    def log_refusal(self, addr, reason, msg, *args):
        self.refusals.append((addr, reason, msg % args))
        return True

    def transfer_done(self, transfer):
        self.done.append(transfer)


@pytest.fixture
def fake_socket():
    return FakeSocket()


@pytest.fixture
def fake_server():
    return FakeServer()
