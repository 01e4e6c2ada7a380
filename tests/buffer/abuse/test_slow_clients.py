"""Slow and idle clients against ``smsbounce serve`` (docs/security.md, "Slow clients"), on
SQLite and PostgreSQL: they cost a socket, never one of the threads that answer real reports.

The buffer runs with two request threads and one-second timeouts, so a handful of slow sockets
would take every thread of a server that gave each connection one; the real reports sent while
they hang on must all be answered and stored.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import requests

from smsbounce import contracts
from tests.buffer.abuse.conftest import raw_request
from tests.buffer.ops_helpers import scrape, value
from tests.helpers import report_query

SLOW = 24  # sockets of each kind: many times the two request threads
TIMEOUT = 1  # SMSBOUNCE_HEADER_TIMEOUT and SMSBOUNCE_BODY_TIMEOUT, seconds
BODY_HEAD = (
    b"POST /api/v1/providers/sinch/report HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
)


# The module's server (conftest's ``served``, on SQLite and PostgreSQL): two request threads.
SERVE_ENV = {
    "SMSBOUNCE_THREADS": "2",
    "SMSBOUNCE_HEADER_TIMEOUT": str(TIMEOUT),
    "SMSBOUNCE_BODY_TIMEOUT": str(TIMEOUT),
}


def _address(served) -> tuple[str, int]:
    host, port = served.url.removeprefix("http://").split(":")
    return host, int(port)


class Trickle:
    """``sockets`` connections that each send ``first``, then one byte of ``rest`` every
    ``every`` seconds until stopped (``first`` alone and no ``rest``: an idle connection)."""

    def __init__(self, served, sockets: int, first: bytes, rest: bytes = b"", every: float = 0.3):
        self.sockets = [socket.create_connection(_address(served)) for _ in range(sockets)]
        self.rest, self.every = rest, every
        self.closed_by_server = 0
        self._stop = threading.Event()
        for sock in self.sockets:
            if first:
                sock.sendall(first)
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        for byte in self.rest:
            if self._stop.wait(self.every):
                return
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(bytes([byte]))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def test_real_reports_are_answered_and_stored_while_slow_and_idle_clients_hang_on(served):
    held = [
        Trickle(served, SLOW, b""),  # idle: connected, nothing sent
        Trickle(served, SLOW, b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n" * 100),
        Trickle(served, SLOW, BODY_HEAD, b" " * 200),
    ]
    try:
        time.sleep(0.3)  # every slow socket is connected and has begun
        ids = [f"slow-{n}" for n in range(10)]
        for message_id in ids:
            # A fresh connection each, as providers call; a thread-per-connection server with
            # every thread taken would leave these unanswered until the timeout.
            response = requests.get(
                served.url + "/api/v1/notifications/set?" + report_query(orderID=message_id),
                headers={"Connection": "close"},
                timeout=10,
            )
            assert response.status_code == 200, response.text
            assert response.json() == {"result": "stored", "messageId": message_id}
    finally:
        for trickle in held:
            trickle.stop()
    page = requests.get(served.url + "/api/v1/notifications/get", auth=served.auth, timeout=10)
    assert set(ids) <= {item["messageId"] for item in page.json()["status"]}


def test_an_idle_connection_is_closed_after_the_header_timeout(served):
    with socket.create_connection(_address(served), timeout=10 * TIMEOUT) as sock:
        started = time.monotonic()
        assert sock.recv(1024) == b"", "the server closes it without an answer"
        assert time.monotonic() - started < 10 * TIMEOUT


def test_a_connection_sending_its_head_too_slowly_is_closed(served):
    with socket.create_connection(_address(served), timeout=10 * TIMEOUT) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        with contextlib.suppress(OSError):  # the server may close while we still send
            for _ in range(30):
                sock.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.2)
        assert sock.recv(1024) == b""


def test_a_body_that_does_not_arrive_in_time_gets_408_in_the_error_shape_and_is_counted(served):
    before = scrape(served)
    seen = len(served.output)
    answer = raw_request(served.url, BODY_HEAD + b'{"batch_id": "x"')  # 184 bytes short
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"content-type: application/json" in head.lower()
    error = contracts.validate("error", json.loads(body))["error"]
    assert error["status"] == 408 and "did not arrive" in error["message"]
    after = scrape(served)
    assert (
        value(after, "smsbounce_http_responses_total", endpoint="unmatched", status="408")
        - value(before, "smsbounce_http_responses_total", endpoint="unmatched", status="408")
        == 1
    ), "the 408 is not in /metrics"
    logged = [json.loads(line) for line in served.output[seen:] if line.startswith("{")]
    assert any(e.get("logger") == "smsbounce.access" and e.get("status") == 408 for e in logged)


def test_a_slow_body_that_arrives_within_the_timeout_is_taken(served):
    report = json.dumps(
        {
            "type": "recipient_delivery_report_sms",
            "batch_id": "slow-body-1",
            "recipient": "+4915112345678",
            "code": 402,
            "status": "Failed",
            "at": "2026-11-30T08:16:08.930Z",
        }
    ).encode()
    head = (
        b"POST /api/v1/providers/sinch/report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(report)).encode()
    )
    with socket.create_connection(_address(served), timeout=10) as sock:
        sock.sendall(head + b"\r\n\r\n")
        for part in (report[: len(report) // 2], report[len(report) // 2 :]):
            time.sleep(TIMEOUT / 4)
            sock.sendall(part)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    page = requests.get(served.url + "/api/v1/notifications/get", auth=served.auth, timeout=10)
    assert "slow-body-1" in {item["messageId"] for item in page.json()["status"]}
