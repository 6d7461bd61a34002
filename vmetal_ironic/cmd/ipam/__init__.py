"""``vmetal-ipam``: the operator's command line (cliff)."""
