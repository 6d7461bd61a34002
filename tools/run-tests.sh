#!/usr/bin/env bash
# Set up (tools/setup.sh), make sure PostgreSQL, MariaDB and RabbitMQ are
# up, then run every test: unit and functional. Arguments go to pytest.
# Skipped tests are listed with their reason (-rs); with CI=true a skip
# fails the run (tests/conftest.py).
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh
tools/ensure-services.sh
exec .venv/bin/python -m pytest -q -rs -p no:cacheprovider tests/unit tests/functional "$@"
