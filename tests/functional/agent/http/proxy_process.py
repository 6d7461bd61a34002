"""Run the agent's HTTP proxy alone, on loopback, for the limit tests.

    python proxy_process.py '<json of HttpProxy keyword arguments>'

Prints the bound port on one line, then serves until stdin closes; its
RSS and descriptors are then the proxy's own.
"""

import json
import sys

from vmetal_ironic.agent.http import server


def main():
    kwargs = json.loads(sys.argv[1])
    proxy = server.HttpProxy('127.0.0.1', 0, **kwargs)
    proxy.start()
    print(proxy.port, flush=True)
    sys.stdin.read()
    proxy.stop()


if __name__ == '__main__':
    main()
