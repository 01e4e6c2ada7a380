"""A threaded WSGI server for the simulator (standard library only).

One process on purpose: the simulator's ground truth and its dispatcher threads live in memory,
so a pre-forking server such as gunicorn would split them across workers.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is the base class's
        # One line per report would drown the command's output; /_sim/reports has them all.
        pass


class Server:
    """Bound and listening once constructed (port 0 picks a free one); ``url`` has no slash."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self._server = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> Server:
        """Serve from a background thread (for ``smsbounce demo`` and tests)."""
        self._thread = threading.Thread(target=self.serve_forever, name="di-sim-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (from another thread than ``serve_forever``'s) and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
