"""What every server of ours does, written once (bottle's ``ServerAdapter`` habit).

One adapter per server, each with the shape of ``ServerAdapter``:

- ``granian_server.GranianServer``: the buffer (``smsbounce serve``); no slow client holds a thread;
- ``gunicorn_server.GunicornServer``: the CPI proxy (``smsbounce cpi-proxy``);
- ``local_server.LocalServer``: a thread in this process, for the demo, the DI simulator and tests.

Every one takes its port with ``listen`` (held by this process alone, or ``CannotListen``) and
answers what it refuses itself, before the app sees a request, with ``refusal``: the JSON error
shape, told first to an app that ``ObservesRefusals``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .web import SECURITY_HEADERS, error_body

Headers = list[tuple[str, str]]


class CannotListen(OSError):
    """The address cannot be served: another process holds the port (another smsbounce too), or
    it is no address of this host. ``str()`` is a sentence naming the address; ``strerror`` the
    system's reason."""

    def __init__(self, host: str, port: int, cause: OSError):
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.sentence = f"cannot listen on {host}:{port}: {self.strerror}"

    def __str__(self) -> str:
        return self.sentence


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A socket listening on ``host``:``port`` (0: a free port) that no other process can share.

    No ``SO_REUSEPORT``: with it, any process of the same user could bind the port too and the
    kernel would split the connections between the two servers. Worker processes inherit this
    one socket instead of binding their own, so ``port`` 0 is one port for all of them, and a
    port taken by anyone stops the start. A connection made before a worker accepts waits in the
    backlog. Raises CannotListen.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Connections of an earlier run left in TIME_WAIT do not hold the port; a listener does.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise CannotListen(host, port, exc) from None
    return sock


class ServerAdapter:
    """The shape of every server: constructing one takes ``host``:``port`` (0: any free one) for
    ``app`` at once, so ``port`` and ``url`` are known and a taken port is told (CannotListen)
    before anything runs; ``run(on_listening)`` serves until SIGTERM or Ctrl-C, lets requests in
    flight finish, and calls ``on_listening(url)`` once a request would be answered."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.app, self.host = app, host
        self.socket = listen(host, port)
        self.port = self.socket.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"

    def run(self, on_listening: Callable[[str], None] | None = None) -> None:
        raise NotImplementedError


@runtime_checkable
class ObservesRefusals(Protocol):
    """An app that is told of the answers its server gives itself before the app sees the
    request, so they are in its access log and metrics like any other answer."""

    def refused(self, environ: dict, status: int, seconds: float) -> Headers | None:
        """Record ``status``, answered to the request of ``environ`` after ``seconds``; return
        the headers to add to the answer (a request id), if any."""


# What a refusal says when the server names no reason of its own, by status.
REFUSALS = {
    400: "the request is not valid HTTP/1.1",
    403: "the request is forbidden",
    408: "the request did not arrive in time",
    413: "the request body is too large",
    414: "the request line is too long",
    417: "the expectation cannot be met",
    431: "the request's header fields are too large",
    501: "the transfer coding is not supported",
}


def refusal(
    app, environ: dict, status: int, started: float, message: str | None = None
) -> tuple[Headers, bytes]:
    """The answer to a request refused before ``app`` sees it: headers (``Connection: close``,
    the JSON content type, ``SECURITY_HEADERS``; no framing, the server adds it) and the body in
    the JSON error shape. ``message`` (by default one for ``status``) must not quote the request:
    its target may carry a token or a phone number. ``app``, if it ``ObservesRefusals``, is told
    first; ``started`` is when the server began reading the request (``time.perf_counter()``).
    """
    extra: Headers = []
    if isinstance(app, ObservesRefusals):
        extra = app.refused(environ, status, time.perf_counter() - started) or []
    text = message or REFUSALS.get(status, "internal error; the request was not processed")
    headers = [
        ("Connection", "close"),
        ("Content-Type", "application/json"),
        *SECURITY_HEADERS,
        *extra,
    ]
    return headers, error_body(status, text).encode()
