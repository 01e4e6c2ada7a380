"""A threaded WSGI server on a free port, for running services inside ``smsbounce demo``.

Standard library only. The demo runs the buffer, the CPI proxy and the DI simulator as threads of
one process: nothing to install or start, and the simulator's in-memory ground truth stays whole.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # The simulator's dispatcher and the proxy open connections in bursts; the default backlog
    # of 5 would refuse some of them under load, which a provider would count as a failed try.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        # One line per request would bury the demo's progress; the services keep their own logs.
        pass


class LocalServer:
    """Serves ``app`` from a background thread; bound and listening once constructed, so a
    request made right away is queued, never refused. ``url`` has no trailing slash."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self._server = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
