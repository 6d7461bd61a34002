"""IP address management: pools, allocations and DHCP reservations."""
