"""``LocalServer``: a WSGI app served from a thread of this process (the standard library's
server), for the demo, the DI simulator and the tests."""

from __future__ import annotations

import signal
import ssl
import threading
import time
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from .serving import ServerAdapter, refusal


class _Handler(WSGIRequestHandler):
    def handle(self) -> None:
        self.started = time.perf_counter()
        super().handle()

    def send_error(self, code, message=None, explain=None) -> None:
        """What the standard library refuses itself (a request line over 64 KiB: 414, too many
        header fields: 431, a malformed request: 400) in the JSON error shape."""
        environ = {
            "REQUEST_METHOD": self.command or "",
            # Without the query: it may carry a token or a phone number.
            "PATH_INFO": getattr(self, "path", "").split("?", 1)[0],
            "REMOTE_ADDR": self.client_address[0],
        }
        headers, body = refusal(self.server.get_app(), environ, int(code), self.started)
        self.send_response(code)
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        # One line per request would bury a command's output; the apps keep their own logs.
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """The standard library's server on a socket ``serving.listen`` took."""

    daemon_threads = True

    def __init__(self, taken, app):
        self._taken = taken
        super().__init__(taken.getsockname()[:2], _Handler)
        self.set_app(app)

    def server_bind(self) -> None:
        # What HTTPServer and WSGIServer do once bound, on the socket that is bound already.
        self.socket.close()
        self.socket = self._taken
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()

    def server_activate(self) -> None:
        pass  # listening since it was taken


class LocalServer(ServerAdapter):
    """Serves ``app`` from a background thread until ``stop()``; ``url`` has no trailing slash.

    Listening once constructed (port 0 picks a free one), so a request made right away is
    queued, never refused: no readiness wait is needed. Raises CannotListen.
    """

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ):
        super().__init__(app, host, port)
        self._server = _ThreadingServer(self.socket, app)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
            self.url = self.url.replace("http://", "https://", 1)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def run(self, on_listening: Callable[[str], None] | None = None) -> None:
        """Serve on until SIGTERM or Ctrl-C (from the main thread), then stop."""
        stopping = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        try:
            if on_listening is not None:
                on_listening(self.url)
            stopping.wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
