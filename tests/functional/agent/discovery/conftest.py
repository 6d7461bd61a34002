"""The discovery outage test runs on the DHCP test bed."""

import pytest


@pytest.fixture
def bed(dhcp_bed):
    return dhcp_bed
