"""Assertions and small tools shared by the buffer tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import datetime
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from smsbounce import contracts
from smsbounce.contracts.wire import format_utc, parse_utc
from smsbounce.simulators.marketing.walk import walk

ARTICLE_QUERY = (
    "orderid=123456789&time=155423&date=14032018&msisdn=+49123456789&status='0x4503 Message 1"
    " of the order 1636010434 at destination of +49123456789 is out of coverage'"
)


# What the article's example must become, field for field (issue 2).
ARTICLE_RECORD = {
    "messageId": "123456789",
    "recipient": "+49123456789",
    "statusCode": "0x4503",
    "statusText": "Message 1 of the order 1636010434 at destination of +49123456789 "
    "is out of coverage",
    "type": "Permanent",
    "timestamp": "20180314155423",
}


def assert_json_error(response, status: int, parameter: str | None = None) -> dict:
    """The one check for every error answer: status, JSON error contract, named parameter."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = contracts.validate("error", response.json())
    assert body["error"]["status"] == status
    assert body["error"].get("parameter") == parameter, body
    return body["error"]


def report_query(**overrides) -> str:
    """A well-formed, properly encoded DI report query; override fields, or drop them with None."""
    params = {
        "orderID": "1000001",
        "time": "101500",
        "date": "01022026",
        "msisdn": "+4915112345678",
        "status": "0x4503 Message 1 of the order 1000001 at destination of +4915112345678 "
        "is out of coverage",
    }
    params.update(overrides)
    return urlencode({k: v for k, v in params.items() if v is not None})


INGEST = "/api/v1/notifications/set"


def ingest(session, server, query: str, path: str = INGEST):
    """Deliver one report query as a provider does; a 200 answer must honour its contract."""
    response = session.get(f"{server.url}{path}?{query}", timeout=30)
    if response.status_code == 200:
        contracts.validate("ingest-response", response.json())
    return response


def send(session, server, message_id: str, **fields) -> str:
    """Deliver a well-formed report for ``message_id``; return the buffer's result word."""
    response = ingest(session, server, report_query(orderID=message_id, **fields))
    assert response.status_code == 200, response.text
    return response.json()["result"]


def twilio_signature(auth_token: str, url: str, params) -> str:
    """X-Twilio-Signature as Twilio's own SDK computes it: the oracle for our signature check
    and for the simulator's signed callbacks (never our own HMAC code)."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


def twilio_accepts(auth_token: str, url: str, params, header: str) -> bool:
    """Whether Twilio's SDK says ``header`` signs ``url`` and ``params``."""
    return RequestValidator(auth_token).validate(url, dict(params), header)


def utc(text: str) -> datetime:
    return parse_utc(text)


def status_page(session, server, page=0, window=None, **extra):
    """GET one status page, assert it honours the response contract, return its JSON."""
    params = {"page": str(page), **extra}
    if window is not None:
        params["startTimeUTC"], params["endTimeUTC"] = (format_utc(t) for t in window)
    contracts.validate("status-request", params)
    response = session.get(
        server.url + "/api/v1/notifications/get", params=params, auth=server.auth
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = contracts.validate("status-response", response.json())
    assert body["page"] == str(page)
    return body


def all_bounces(session, server, window=None) -> list[dict]:
    """Every page of a window, as Marketing reads it; checks lastPage is true only at the end."""

    def fetch(page: int) -> dict:
        body = status_page(session, server, page, window)
        assert body["status"] or body["lastPage"], "a page before the last one must not be empty"
        return body

    walked = walk(fetch)
    assert not walked.capped, "no lastPage: true after 10,000 pages"
    return [item for body in walked.answers for item in body["status"]]


def hold_write_lock(db_url: str):
    """Block every write to the table from a second connection, so a writer waits (it does not
    fail); return the function that releases the lock."""
    if db_url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        connection = psycopg.connect(db_url)
        connection.cursor().execute("LOCK TABLE notifications IN EXCLUSIVE MODE")
    return lambda: (connection.rollback(), connection.close())


# A write of reports: the threads' upsert, or the event loop's call of its function.
REPORTS_WRITE = ("INSERT", "SELECT * FROM smsbounce_upsert_")


def wait_for_lock_waiter(pg_url: str, *statements: str, timeout: float = 10.0) -> None:
    """Return once a PostgreSQL backend running one of ``statements`` (e.g. ``DELETE``;
    ``REPORTS_WRITE``) waits on a lock: the statement alone or within a query of several (the
    event loop's intake sends ``SET LOCAL …; SELECT * FROM smsbounce_upsert_…(…)`` as one).

    PostgreSQL only: SQLite writers wait in their busy handler, invisibly.
    """
    import psycopg

    patterns = [p for statement in statements for p in (f"{statement}%", f"%; {statement}%")]
    matches = " OR ".join(["query LIKE %s"] * len(patterns))
    # autocommit: pg_stat_activity is a snapshot per transaction
    watcher = psycopg.connect(pg_url, autocommit=True)
    deadline = time.monotonic() + timeout
    try:
        with watcher.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    f"AND datname = current_database() AND ({matches})",
                    patterns,
                )
                if cursor.fetchone()[0]:
                    return
                threading.Event().wait(0.02)
    finally:
        watcher.close()
    raise AssertionError(f"no {' or '.join(statements)} ever waited on a lock")


@contextlib.contextmanager
def role_that_only_writes(pg_url: str):
    """The URL of a new role that may read and write the tables ``pg_url``'s database has but
    create nothing (PostgreSQL 15 grants no ``CREATE`` on ``public`` by default), as an operator
    may run the buffer after ``smsbounce migrate`` ran as another role; dropped on exit."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    role = f"smsbounce_writer_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role}")
        admin.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
    parts = urlsplit(pg_url)
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


class FakeClock:
    """A settable ingest clock (UTC microseconds) for window tests that must not wait."""

    def __init__(self, start: datetime):
        self.now = start

    def set(self, moment: datetime) -> None:
        self.now = moment

    def __call__(self) -> int:
        return int(self.now.timestamp()) * 1_000_000 + self.now.microsecond


class TcpProxy:
    """A real TCP forwarder in front of a server; ``stop()`` cuts every connection, as a
    database restart or a network outage does, and ``start()`` brings the same port back."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = None
        self._listener = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it listening.
        with contextlib.suppress(OSError):  # already stopped
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(source, sink), daemon=True).start()


def pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until either closes (one direction of a TCP forwarder)."""
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
