"""What only the production HTTP server sees (``smsbounce serve``), on SQLite and PostgreSQL:
broken framing, over-long request lines and headers, malformed request lines. What is HTTP/1.1
is answered in the JSON error shape and appears in the access log and in /metrics; what is not
HTTP/1.1 at all is refused by granian's parser with a bare 400 before our code runs
(docs/security.md). Either way no log line carries the query string or a phone number."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import requests

from smsbounce import contracts
from tests.buffer.abuse.conftest import raw_request
from tests.buffer.ops_helpers import scrape, value
from tests.raw_http import json_answer
from tests.serve_process import SMSBOUNCE

NUMBER = "4915112345678"


def answered(data: bytes, served) -> tuple[int, dict, dict]:
    """Status, headers (lower-case names) and JSON body of the server's answer to ``data``."""
    return json_answer(raw_request(served.url, data))


BAD_REQUESTS = {
    "bad-chunk-size": (
        b"POST /api/v1/providers/sinch/report HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
        b"\r\n5\r\nhello\r\nZZ\r\n\r\n",
        400,
    ),
    "chunk-without-terminator": (
        b"POST /api/v1/providers/sinch/report HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
        b"\r\n2\r\n{}XX0\r\n\r\n",
        400,
    ),
    "request-line-too-long": (
        b"GET /api/v1/notifications/set?msisdn="
        + NUMBER.encode()
        + b"&x="
        + b"a" * 9000
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        414,
    ),
    "header-too-large": (
        b"GET /healthz?msisdn="
        + NUMBER.encode()
        + b" HTTP/1.1\r\nHost: x\r\nX-Big: "
        + b"a" * 9000
        + b"\r\nConnection: close\r\n\r\n",
        431,
    ),
    # RFC 9112 §3.2: two servers in a row could each take a different one for the target's host.
    "two-host-fields": (
        b"GET /healthz?msisdn=" + NUMBER.encode() + b" HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
        b"Connection: close\r\n\r\n",
        400,
    ),
}

# Refused by hyper, granian's HTTP parser, before the bridge sees a request: a bare 400.
NOT_HTTP = {
    "malformed-request-line": (
        b"GET /api/v1/notifications/set?msisdn=" + NUMBER.encode() + b" HTTP/1.1 junk\r\n"
        b"Host: x\r\nConnection: close\r\n\r\n",
        400,
    ),
    "control-character-in-target": (
        b"GET /x?msisdn=00" + NUMBER.encode() + b"\x01 HTTP/1.1\r\nHost: x\r\nConnection: close"
        b"\r\n\r\n",
        400,
    ),
    "content-length-not-a-number": (
        b"POST /api/v1/providers/sinch/report HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n"
        b"Connection: close\r\n\r\n{}",
        400,
    ),
}


@pytest.mark.parametrize("case", list(NOT_HTTP))
def test_what_is_not_http_is_refused_with_400_and_the_connection_closed(served, case):
    data, status = NOT_HTTP[case]
    data = data.replace(b"Connection: close\r\n", b"")  # a kept-alive connection
    seen = len(served.output)
    answer = raw_request(served.url, data + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer
    assert answer.count(b"HTTP/1.1 ") == 1, "nothing after the broken request is answered"
    assert requests.get(served.url + "/healthz", timeout=10).ok, "the server goes on answering"
    for line in served.output[seen:]:
        assert NUMBER not in line and "msisdn=" not in line, line


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_the_servers_own_refusals_are_json_logged_and_counted(served, case):
    data, status = BAD_REQUESTS[case]
    before = scrape(served)
    seen = len(served.output)
    got, headers, body = answered(data, served)
    assert got == status, body
    assert contracts.validate("error", body)["error"]["status"] == status
    assert headers.get("x-content-type-options") == "nosniff"
    after = scrape(served)
    counted = sum(
        v - before.get(key, 0)
        for key, v in after.items()
        if key[0] == "smsbounce_http_responses_total" and ("status", str(status)) in key[1]
    )
    assert counted == 1, "the refusal is not in /metrics"
    assert _access_line(served, status, seen), "the refusal is not in the access log"
    for line in served.output[seen:]:
        assert NUMBER not in line and "msisdn=" not in line, line


def _access_line(served, status: int, since: int, timeout: float = 10) -> dict | None:
    """The access log line of an answer with ``status`` printed after line ``since`` (polled:
    the server writes it as it answers, the reader thread collects it a moment later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in served.output[since:]:
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("logger") == "smsbounce.access" and entry.get("status") == status:
                return entry
        threading.Event().wait(0.05)
    return None


def test_a_broken_body_on_a_kept_alive_connection_gets_one_answer_and_the_connection_closes(
    served,
):
    # Where the next request would start is unknown once the framing broke: no second answer.
    data = BAD_REQUESTS["bad-chunk-size"][0].replace(b"Connection: close\r\n", b"")
    answer = raw_request(served.url, data + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert answer.startswith(b"HTTP/1.1 400 "), answer


def test_a_broken_body_stores_nothing(served):
    before = value(
        scrape(served), "smsbounce_reports_stored_total", provider="sinch", type="Permanent"
    )
    answered(BAD_REQUESTS["bad-chunk-size"][0], served)
    after = value(
        scrape(served), "smsbounce_reports_stored_total", provider="sinch", type="Permanent"
    )
    assert after == before


@pytest.mark.parametrize(
    "password", ["pw", "short-password", "aaaaaaaaaaaaaaaaaaaa"], ids=["tiny", "short", "one-char"]
)
def test_production_refuses_a_weak_password_with_a_sentence_naming_the_rule(tmp_path, password):
    result = subprocess.run(
        [SMSBOUNCE, "serve", "--port", "0"],
        env={
            "PATH": "/usr/bin:/bin",
            "SMSBOUNCE_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
            "SMSBOUNCE_API_PASSWORD": password,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout
    assert "SMSBOUNCE_API_PASSWORD" in result.stderr and "at least" in result.stderr
    assert password not in result.stderr, "the refused password is printed"
    assert "Traceback" not in result.stderr


def test_a_header_name_with_an_underscore_is_not_taken_for_its_dashed_twin(served):
    # X_Forwarded_For must not pass for, or join, the X-Forwarded-For a proxy appended to.
    dashed = requests.get(served.url + "/healthz", headers={"X-Request-Id": "mine-1"}, timeout=10)
    assert dashed.headers["X-Request-Id"] == "mine-1"
    underscored = raw_request(
        served.url,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX_Request_Id: mine-2\r\nConnection: close\r\n\r\n",
    )
    assert underscored.startswith(b"HTTP/1.1 200 "), underscored
    assert b"mine-2" not in underscored
