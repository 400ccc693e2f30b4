"""Run localstripe with the billing extensions on 127.0.0.1 (a free port); prints the port, then serves.

Started by the ``fake_stripe`` fixture: ``python -m tests.billing.run_fake_stripe``.
"""

from __future__ import annotations

import socket
import sys

from aiohttp import web
from localstripe import resources

# localstripe pickles its whole store to /tmp on every write: slow (1,000 meter events) and shared
# between runs. The fake lives exactly as long as the test session.
resources.Store.dump_to_disk = lambda self: None

from localstripe.server import app  # noqa: E402

from tests.billing.fake_stripe_extensions import install  # noqa: E402


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    install(app, base_url=f"http://127.0.0.1:{port}")
    print(f"listening {port}", flush=True)
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


if __name__ == "__main__":
    sys.exit(main())
