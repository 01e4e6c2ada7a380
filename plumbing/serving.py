"""Serving a WSGI app: granian for the buffer (no slow client holds a thread), gunicorn for the
CPI proxy, a threaded port-0 server for the demo, the DI simulator and the tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


def run_gunicorn(app, options: dict) -> None:
    """Serve ``app`` with gunicorn until SIGTERM / Ctrl-C (running requests finish first).

    gunicorn's control socket is off: by default every server of a user shares one file under
    ``$HOME/.gunicorn``, so a second server takes it over and stopping either deletes it. What
    gunicorn refuses itself is answered in the JSON error shape (``json_refusals``).
    """
    from gunicorn.app.base import BaseApplication

    worker = json_refusals(options.get("worker_class", "sync"))

    class _Application(BaseApplication):
        def load_config(self):
            settings = {"control_socket_disable": True, **options, "worker_class": worker}
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    _Application().run()


class CannotListen(Exception):
    pass


class _NoCrashLoops(dict):
    """granian's record of when it last respawned each worker, kept empty.

    granian stops the whole server when a worker dies within 5.5 s of being respawned, taking it
    for a crash loop. Our workers cannot fail to start (the app is built, the port reserved
    before they fork), so a worker that dies was killed while serving (the OOM killer, an
    operator); each is replaced, however often, and the server goes on answering.
    """

    def __setitem__(self, key, value) -> None:
        pass


# A new worker runs with the master's Python handler for these until granian installs its own;
# one arriving in between would run that copy and be lost, the worker serving on and the master
# waiting out its kill timeout (a stop right after the start: 6 of 15 hung, measured). So they
# are blocked from the fork until the worker's handler is in place, then delivered to it.
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _hold_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)


class _StopSignalsWhenReady:
    """``app`` as granian's worker sees it, releasing the held stop signals once the worker
    serves: the first thing its event loop runs, after granian installed its handler and
    started the server (a stop flagged before that start is not acted on either)."""

    def __init__(self, app):
        self.__rsgi__ = app.__rsgi__
        self._app = app

    def __rsgi_init__(self, loop) -> None:
        loop.call_soon(signal.pthread_sigmask, signal.SIG_UNBLOCK, _STOP_SIGNALS)
        if hasattr(self._app, "__rsgi_init__"):
            self._app.__rsgi_init__(loop)

    def __rsgi_del__(self, loop) -> None:
        if hasattr(self._app, "__rsgi_del__"):
            self._app.__rsgi_del__(loop)


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind ``host``:``port`` (0: any free port) without listening, sharing it with granian's
    workers (``SO_REUSEPORT``: each binds its own socket to it).

    Holding it makes ``port`` 0 mean one port for all workers, not one each, and tells a taken
    port before any worker starts. Raises OSError.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _when_answering(host: str, port: int, announce: Callable[[], None], give_up: float = 60):
    """Call ``announce`` once a worker accepts connections on ``host``:``port``."""
    # A wildcard address is not one to connect to; its loopback is.
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104
    deadline = time.monotonic() + give_up
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((probe, port), timeout=1):
            announce()
            return
        time.sleep(0.02)


def run_granian(
    app,
    *,
    host: str,
    port: int,
    workers: int,
    header_timeout: float,
    graceful_timeout: float,
    log_config: dict,
    on_listening: Callable[[str, int], None],
) -> None:
    """Serve the RSGI ``app`` (``wsgi_bridge.WsgiBridge``) with granian until SIGTERM / Ctrl-C.

    ``header_timeout`` (seconds) bounds how long a connection may take to send a request's head,
    an idle kept-alive one too; then granian closes it. On SIGTERM workers stop accepting, answer
    what they hold and exit; one still busy after ``graceful_timeout`` is killed. A worker that
    dies is replaced. ``on_listening(host, port)`` is called once a worker answers. Raises
    CannotListen when the address cannot be bound.
    """
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings

    try:
        reserved = reserve_port(host, port)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    port = reserved.getsockname()[1]
    from granian.server import Server

    server = Server(
        "smsbounce",  # a name for logs: the app is handed over by target_loader below
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        loop=Loops.uvloop,
        workers=workers,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(header_read_timeout=max(1, round(header_timeout * 1000))),
        log_dictconfig=log_config,
        respawn_failed_workers=True,
        workers_kill_timeout=max(1, round(graceful_timeout)),
    )
    server.respawned_wrks = _NoCrashLoops()
    server.on_startup(
        lambda: threading.Thread(
            target=_when_answering,
            args=(host, port, lambda: on_listening(host, port)),
            daemon=True,
        ).start()
    )
    os.register_at_fork(after_in_child=_hold_stop_signals)
    worker_app = _StopSignalsWhenReady(app)
    try:
        server.serve(target_loader=lambda: worker_app, wrap_loader=False)
    finally:
        reserved.close()


# What a refusal says, by status; gunicorn's own text may quote the request line (and its query).
_REFUSALS = {
    400: "the request is not valid HTTP/1.1",
    403: "the request is forbidden",
    414: "the request line is too long",
    417: "the expectation cannot be met",
    431: "the request's header fields are too large",
    501: "the transfer coding is not supported",
}


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


def json_refusals(worker_class):
    """``worker_class`` (a gunicorn worker or its name) answering what gunicorn refuses before
    the app sees a request — a malformed request line (400), an over-long one (414), too large
    header fields (431), … — in the JSON error shape with ``SECURITY_HEADERS``, instead of
    gunicorn's HTML page.

    gunicorn still decides the status and logs its warning (``handle_error``); the page it writes
    is caught and replaced. The app, if it has a ``refused(environ, status, seconds)`` method, is
    told first, so the refusal is in its access log and metrics like any answer; it may return
    headers to add (a request id).
    """
    from gunicorn.util import load_class

    from .web import SECURITY_HEADERS, error_body

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
            extra = []
            refused = getattr(self.wsgi, "refused", None)
            if refused is not None:
                extra = refused(environ, status, time.perf_counter() - started) or []
            message = _REFUSALS.get(status, "internal error; the request was not processed")
            body = error_body(status, message).encode()
            headers = [
                ("Connection", "close"),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *SECURITY_HEADERS,
                *extra,
            ]
            head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in headers
            )
            with contextlib.suppress(OSError):  # the client is gone: nothing to answer
                client.sendall(head.encode("latin-1") + b"\r\n" + body)

    JsonRefusals.__name__ = JsonRefusals.__qualname__ = f"JsonRefusals{base.__name__}"
    return JsonRefusals


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
