"""``GunicornServer``: a WSGI app on gunicorn's threaded worker processes (the CPI proxy's
server: it faces CPI, not the internet)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

from .serving import ServerAdapter, refusal


class GunicornServer(ServerAdapter):
    """Serves ``app`` with ``workers`` gunicorn processes of ``threads`` threads each, all
    accepting on the one socket taken here.

    A request may take ``timeout`` seconds; on SIGTERM running requests get ``graceful_timeout``
    to finish. gunicorn's control socket is off: by default every server of a user shares one
    file under ``$HOME/.gunicorn``, so a second server takes it over and stopping either deletes
    it. What gunicorn refuses itself is answered in the JSON error shape (``serving.refusal``).
    Raises CannotListen.
    """

    def __init__(
        self,
        app,
        host: str,
        port: int,
        *,
        workers: int,
        threads: int,
        timeout: float,
        graceful_timeout: float,
    ):
        super().__init__(app, host, port)
        self.options = {
            "workers": workers,
            "threads": threads,
            "timeout": timeout,
            "graceful_timeout": graceful_timeout,
        }

    def run(self, on_listening: Callable[[str], None] | None = None) -> None:
        from gunicorn.app.base import BaseApplication

        settings = {
            **self.options,
            # gunicorn closes the descriptor it is given: a copy of ours.
            "bind": [f"fd://{os.dup(self.socket.fileno())}"],
            "worker_class": _json_refusals("gthread"),
            "control_socket_disable": True,
            "loglevel": "warning",
            "when_ready": lambda arbiter: on_listening and on_listening(self.url),
        }
        app = self.app

        class _Application(BaseApplication):
            def load_config(self):
                for key, value in settings.items():
                    self.cfg.set(key, value)

            def load(self):
                return app

        try:
            _Application().run()
        finally:
            self.socket.close()


class _Page:
    """Stands in for the client socket while gunicorn writes its HTML error page (it writes
    non-blocking: ``gettimeout``/``setblocking``, then ``sendall``)."""

    def __init__(self):
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    def status(self, exc: Exception) -> tuple[int, str]:
        """The status and reason gunicorn chose; from the exception if it wrote nothing."""
        parts = self.data.split(b"\r\n", 1)[0].split(b" ", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return int(parts[1]), parts[2].decode("latin-1")
        status = getattr(exc, "code", 500)
        return status, "Bad Request" if status == 400 else "Internal Server Error"


def _json_refusals(worker_class):
    """``worker_class`` (a gunicorn worker or its name) answering what gunicorn refuses before
    the app sees a request — a malformed request line (400), an over-long one (414), too large
    header fields (431), … — with ``serving.refusal`` instead of gunicorn's HTML page.

    gunicorn still decides the status and logs its warning (``handle_error``); the page it writes
    is caught and replaced (its text may quote the request line, and the query with it).
    """
    from gunicorn.util import load_class

    base = load_class(worker_class)

    class JsonRefusals(base):
        def handle_error(self, req, client, addr, exc):
            started = time.perf_counter()
            page = _Page()
            super().handle_error(req, page, addr, exc)
            status, reason = page.status(exc)
            environ = {
                "REQUEST_METHOD": getattr(req, "method", None) or "",
                "PATH_INFO": getattr(req, "path", None) or "",
                "REMOTE_ADDR": str((addr or ("",))[0]),
            }
            headers, body = refusal(self.wsgi, environ, status, started)
            head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
                f"{name}: {value}\r\n"
                for name, value in [*headers, ("Content-Length", str(len(body)))]
            )
            with contextlib.suppress(OSError):  # the client is gone: nothing to answer
                client.sendall(head.encode("latin-1") + b"\r\n" + body)

    JsonRefusals.__name__ = JsonRefusals.__qualname__ = f"JsonRefusals{base.__name__}"
    return JsonRefusals
