"""A WSGI app behind granian's RSGI interface, so that no slow client ever holds a thread.

granian (Rust, hyper) reads a request's head with a timeout of its own; this bridge then awaits
the body on the worker's event loop, bounded in size and in time, and only a complete request is
handed to the WSGI app on one of a fixed number of threads. An idle socket, a client sending its
headers or its body a byte at a time, costs a file descriptor and a little memory, never one of
the threads that answer real requests (docs/security.md, "Slow clients").

What the bridge refuses itself — a body that does not arrive in time (408), a request target or a
header field too long (414, 431), more than one ``Host`` (400) — is answered with
``serving.refusal``: the JSON error shape, told first to an app that ``ObservesRefusals``, so
those answers are in its access log and metrics too. More than 100 header fields granian's parser
(hyper) refuses itself, with a bare 431, before the bridge sees the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from .serving import refusal

# The limits gunicorn applied before this bridge replaced it (its defaults), kept so that what a
# client may send did not change with the server. Its third, 100 header fields, is hyper's own.
MAX_TARGET_BYTES = 4094
MAX_HEADER_FIELD_BYTES = 8190
# environ: ``time.perf_counter()`` when the bridge began the request, for an access line's
# duration that includes what was awaited on the loop before the app was called.
STARTED = "bridge.started"


class _Unreadable(io.RawIOBase):
    """``wsgi.input`` of a request whose body broke off or whose chunked framing is broken: the
    app's read fails the way it would on a server that decodes the body while the app reads."""

    def __init__(self, reason: str):
        self.reason = reason

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise OSError(self.reason)


class _Answer:
    """The WSGI ``start_response`` of one request."""

    __slots__ = ("status", "headers")

    def __call__(self, status: str, headers: list, exc_info=None):
        # Nothing is sent before the app returns, so an error page may always replace the answer.
        self.status, self.headers = int(status.split(" ", 1)[0]), headers


class WsgiBridge:
    """An RSGI application serving the WSGI ``app`` with ``threads`` threads per worker.

    ``body_timeout`` bounds how long a request's body may take to arrive (seconds, from the end of
    its head); ``max_body`` is the most bytes read of it (the app refuses a longer one: one byte
    more than that is handed over, so it can tell). ``on_start`` and ``on_stop`` run in each
    worker process when it starts serving and after its last request was answered.

    ``on_loop(environ, call)``, when given, is awaited first with every complete request, on the
    event loop: it returns the answer (status, headers, body) to a request it takes — ``call``
    runs the WSGI app on the loop's own thread, for an app that will not block — or None for
    the threads to answer it. Its ``close()`` is awaited when the worker stops.
    """

    def __init__(
        self,
        app,
        *,
        threads: int,
        body_timeout: float,
        max_body: int,
        on_start=None,
        on_stop=None,
        on_loop=None,
    ):
        self.app, self.threads = app, threads
        self.on_loop = on_loop
        self.body_timeout, self.max_body = body_timeout, max_body
        self.on_start, self.on_stop = on_start, on_stop
        self._pool: ThreadPoolExecutor | None = None

    def __rsgi_init__(self, loop) -> None:
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="request")
        if self.on_start is not None:
            self.on_start()

    def __rsgi_del__(self, loop) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # every request handed over is answered first
        if self.on_loop is not None and hasattr(self.on_loop, "close"):
            with contextlib.suppress(Exception):  # the loop may be closed or still running
                if loop.is_running():
                    loop.create_task(self.on_loop.close())
                else:
                    loop.run_until_complete(self.on_loop.close())
        if self.on_stop is not None:
            self.on_stop()

    async def __rsgi__(self, scope, proto) -> None:
        if scope.proto != "http":  # websockets: not offered
            return
        started = time.perf_counter()
        environ, head = _environ(scope)
        refused = _refused_head(environ, head)
        if refused is None and self._has_body(environ):
            try:
                body = await asyncio.wait_for(self._read(proto), self.body_timeout)
            except asyncio.TimeoutError:
                refused = 408, f"the request body did not arrive within {self.body_timeout:g} s"
            else:
                environ["wsgi.input"] = body
        if refused is not None:
            status, message = refused
            proto.response_bytes(status, *refusal(self.app, environ, status, started, message))
            return
        if self.on_loop is not None:
            environ[STARTED] = started
            answer = await self.on_loop(environ, self._call)
            if answer is not None:
                proto.response_bytes(*answer)
                return
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(self._pool, self._call, environ)
        proto.response_bytes(status, headers, body)

    def _has_body(self, environ: dict) -> bool:
        """Whether to read a body: not for one the app will refuse by its length alone."""
        if "HTTP_TRANSFER_ENCODING" in environ:
            return True
        length = environ.get("CONTENT_LENGTH", "")
        return length.isdigit() and 0 < int(length) <= self.max_body

    async def _read(self, proto):
        chunks, size = [], 0
        try:
            async for chunk in proto:
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_body:
                    break
        except Exception:  # hyper ends the stream with an error on broken framing or a cut
            return _Unreadable("the body could not be read: broken framing or cut off")
        # A chunk may run past the limit: the app is handed one byte more than it takes, no more.
        return io.BytesIO(b"".join(chunks)[: self.max_body + 1])

    def _call(self, environ: dict) -> tuple[int, list, bytes]:
        answer = _Answer()
        result = self.app(environ, answer)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return answer.status, answer.headers, body


class _Head(NamedTuple):
    """What the limits look at in a request's header fields."""

    longest: int  # bytes of the longest, as sent: "name: value"
    hosts: int  # how many are Host


def _environ(scope) -> tuple[dict, _Head]:
    """The WSGI environ of an RSGI request (PEP 3333: strings carry bytes as latin-1) and what
    the limits look at in its head."""
    server_host, _, server_port = scope.server.rpartition(":")
    client_host = scope.client.rpartition(":")[0]
    environ = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # granian gives the path percent-decoded as UTF-8; WSGI wants its bytes as latin-1.
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_host.strip("[]"),
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client_host.strip("[]"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    longest = hosts = 0
    for name, value in scope.headers.items():
        longest = max(longest, len(name) + len(value) + 2)
        hosts += name.lower() == "host"
        if "_" in name:
            # X_Forwarded_For would become the same key as the X-Forwarded-For a proxy appended
            # to and shift the entries counted from the right (gunicorn drops these too).
            continue
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        # Repeated fields are joined as one, the way a proxy would (RFC 9110 §5.3).
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ, _Head(longest, hosts)


def _refused_head(environ: dict, head: _Head) -> tuple[int, str] | None:
    """The status and message of a request refused for its head alone, or None."""
    target = len(environ["PATH_INFO"]) + len(environ["QUERY_STRING"]) + 1
    if target > MAX_TARGET_BYTES:
        return 414, f"the request target is longer than {MAX_TARGET_BYTES} bytes"
    if head.longest > MAX_HEADER_FIELD_BYTES:
        return 431, f"a header field is longer than {MAX_HEADER_FIELD_BYTES} bytes"
    if head.hosts > 1:
        # Two servers behind one another may each take a different one for the target's host
        # (RFC 9112 §3.2: answered 400).
        return 400, "the request has more than one Host header field"
    return None
