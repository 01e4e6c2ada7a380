"""Real HTTP servers for tests: a WSGI app on 127.0.0.1, port chosen by the OS (pytest-httpbin)."""

from __future__ import annotations

import ssl
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # Concurrency tests open many connections at once; the default backlog (5) stalls them.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep test output readable
        pass


class LiveServer:
    """Serve ``app`` in a background thread until ``stop()``; ``url`` has no trailing slash.

    The socket is bound and listening when the constructor returns, so a request made right
    after construction is queued, never refused: no readiness sleep is needed.
    """

    def __init__(self, app, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"):
        self._server = make_server(
            host, 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.host = host
        self.port = self._server.server_address[1]
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
