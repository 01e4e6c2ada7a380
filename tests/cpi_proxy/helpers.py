"""Tools for the CPI proxy tests: recording targets, proxy settings, raw HTTP, TLS material."""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import trustme
from bottle import Bottle, HTTPResponse, request

from smsbounce import contracts
from smsbounce.cpi_proxy.app import create_app
from smsbounce.cpi_proxy.settings import Settings, User
from smsbounce.plumbing.local_server import LocalServer

MARKETING = ("marketing", "mc-pass")
NO_ROLE = ("reader", "reader-pass")
BUFFER_CREDENTIALS = ("cpi", "buffer-pass")
PROVIDER_CREDENTIALS = ("acc", "di-pass")
PROVIDER_PATH = "/cmn/acc/acc.sms"
INGEST_URL = "http://buffer.example:8080/api/v1/notifications/set/Tok3n-for-the-ingest-url"


@dataclass
class Seen:
    """One request a target received, as it arrived on the wire."""

    method: str
    path: str
    raw_query: str
    authorization: str | None
    content_type: str | None
    body: bytes

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        if not self.authorization or not self.authorization.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(self.authorization[6:]).decode().partition(":")
        return user, password


@dataclass
class Reply:
    status: int = 200
    content_type: str | None = "application/json"
    body: bytes = b"{}"


@dataclass
class RecordingTarget:
    """A real HTTP(S) server standing in for the buffer or DI: it records every request and
    answers with ``reply(seen)``. ``hold`` makes it wait (released at teardown) for timeouts."""

    reply: object = field(default_factory=lambda: lambda seen: Reply())
    seen: list[Seen] = field(default_factory=list)
    hold: threading.Event | None = None
    server: LocalServer | None = None

    def app(self) -> Bottle:
        app = Bottle()

        @app.route("/", method=["GET", "POST", "PUT", "DELETE"])
        @app.route("/<path:path>", method=["GET", "POST", "PUT", "DELETE"])
        def any_path(path=""):
            seen = Seen(
                method=request.method,
                path=request.environ["PATH_INFO"],
                raw_query=request.environ.get("QUERY_STRING", ""),
                authorization=request.get_header("Authorization"),
                content_type=request.get_header("Content-Type"),
                body=request.body.read(),
            )
            self.seen.append(seen)
            if self.hold is not None:
                self.hold.wait(30)
            answer = self.reply(seen)
            headers = {"Content-Type": answer.content_type} if answer.content_type else {}
            return HTTPResponse(answer.body, status=answer.status, headers=headers)

        return app

    @property
    def url(self) -> str:
        return self.server.url


def proxy_settings(buffer_url: str, provider_url: str, **overrides) -> Settings:
    values = dict(
        buffer_url=buffer_url,
        provider_url=provider_url,
        buffer_user=BUFFER_CREDENTIALS[0],
        buffer_password=BUFFER_CREDENTIALS[1],
        provider_user=PROVIDER_CREDENTIALS[0],
        provider_password=PROVIDER_CREDENTIALS[1],
        users=(User(*MARKETING), User(*NO_ROLE, roles=frozenset({"Other.role"}))),
        ingest_url=INGEST_URL,
        connect_timeout=2.0,
        read_timeout=5.0,
    )
    values.update(overrides)
    return Settings(**values)


class Servers:
    """Starts targets and proxies on free ports; ``close()`` stops all of them (fixture)."""

    def __init__(self):
        self._servers: list[LocalServer] = []
        self._holds: list[threading.Event] = []
        self._sockets: list[socket.socket] = []

    def target(self, reply=None, *, tls: ssl.SSLContext | None = None, hold=False):
        target = RecordingTarget()
        if reply is not None:
            target.reply = reply
        if hold:
            target.hold = threading.Event()
            self._holds.append(target.hold)
        target.server = self._start(LocalServer(target.app(), ssl_context=tls))
        return target

    def proxy(self, settings: Settings) -> LocalServer:
        return self._start(LocalServer(create_app(settings)))

    def refused_url(self) -> str:
        """A URL on a port nothing listens on (bound, then closed)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def unresponsive_url(self) -> str:
        """A URL whose listener never accepts and whose accept queue is full: connects hang."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port))
        self._sockets += [listener, filler]
        return f"http://127.0.0.1:{port}"

    def _start(self, server: LocalServer) -> LocalServer:
        self._servers.append(server)
        return server

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for hold in self._holds:
            hold.set()
        for server in reversed(self._servers):
            server.stop()
        for sock in self._sockets:
            sock.close()


@dataclass
class Tls:
    ca: trustme.CA
    server_context: ssl.SSLContext
    bundle: str
    other_bundle: str


def make_tls(folder) -> Tls:
    """A CA made for the test, a server certificate for 127.0.0.1 from it, and two PEM bundles
    in ``folder``: one holding that CA (the keystore trusts the target), one an unrelated CA."""
    ca, other = trustme.CA(), trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca.cert_pem.write_to_path(str(folder / "trusted.pem"))
    other.cert_pem.write_to_path(str(folder / "other.pem"))
    return Tls(ca, context, str(folder / "trusted.pem"), str(folder / "other.pem"))


@dataclass
class RawAnswer:
    """An answer read with http.client, shaped like the parts of a requests response that
    ``tests.helpers.assert_json_error`` uses."""

    status_code: int
    headers: dict
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self):
        import json

        return json.loads(self.content)


def raw_get(base_url: str, target: str, auth: tuple[str, str] | None = None) -> RawAnswer:
    """GET ``target`` exactly as written (requests would normalise the query string)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("GET", target)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            connection.putheader("Authorization", f"Basic {token}")
        connection.endheaders()
        response = connection.getresponse()
        return RawAnswer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def package(*messages: dict) -> dict:
    """A ``marketing-send-request`` package; each message fills in defaults."""
    filled = []
    for number, message in enumerate(messages, start=1):
        filled.append(
            {
                "messageId": f"MC-{number}",
                "recipient": f"+4915100000{number:03d}",
                "sender": "ACME",
                "text": f"Hello {number}",
                **message,
            }
        )
    return contracts.validate("marketing-send-request", {"version": "1", "messages": filled})


def order_answer(order_id: str) -> Reply:
    """DI's answer to an accepted order."""
    return Reply(200, "text/html", f"<html><body>\nORDERID={order_id}\n</body></html>\n".encode())


def di_error(code: str, text: str, status: int = 400) -> Reply:
    body = f"<html><body>\nERROR={code}\nERRORTEXT={text}\n</body></html>\n"
    return Reply(status, "text/html", body.encode())
