"""Serving a WSGI app: gunicorn for the production commands, a threaded port-0 server for the
demo, the DI simulator and the tests."""

from __future__ import annotations

import ssl
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


def run_gunicorn(app, options: dict) -> None:
    """Serve ``app`` with gunicorn until SIGTERM / Ctrl-C (running requests finish first).

    gunicorn's control socket is off: by default every server of a user shares one file under
    ``$HOME/.gunicorn``, so a second server takes it over and stopping either deletes it.
    """
    from gunicorn.app.base import BaseApplication

    class _Application(BaseApplication):
        def load_config(self):
            for key, value in {"control_socket_disable": True, **options}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    _Application().run()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # Bursts of connections (the simulator's dispatcher, concurrency tests) would overflow the
    # default backlog of 5, and a refused connection is a failed try to a provider.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        # One line per request would bury a command's output; the apps keep their own logs.
        pass


class LocalServer:
    """Serves ``app`` from a background thread until ``stop()``; ``url`` has no trailing slash.

    Bound and listening once constructed (port 0 picks a free one), so a request made right
    away is queued, never refused: no readiness wait is needed.
    """

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self._server = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.host, self.port = host, self._server.server_address[1]
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
