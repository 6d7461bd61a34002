"""The TFTP tests run on the bridge test bed."""

import pytest


@pytest.fixture
def bed(bridge_bed):
    return bridge_bed
