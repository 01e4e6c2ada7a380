"""What a client can do to the buffer itself, on SQLite and PostgreSQL: grow /metrics, guess the
password, read numbers from logs or the status page, get answers outside the JSON shape, or
answers a browser would cache or frame."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from smsbounce.buffer.app import create_app
from smsbounce.buffer.logs import JsonFormatter
from smsbounce.buffer.providers import load_profiles
from tests.buffer.abuse.conftest import raw_request, record
from tests.buffer.ops_helpers import access_entries, json_logs, scrape
from tests.helpers import assert_json_error, ingest, report_query, send

STANDARD_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}
GET = "/api/v1/notifications/get"


def label_values(samples, label: str) -> set[str]:
    return {dict(labels)[label] for _, labels in samples if label in dict(labels)}


# --- /metrics stays bounded -------------------------------------------------------------------


def made_up(http, server, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        method = f"XMETHOD{n}"
        http.request(method, server.url + "/healthz")
        http.request(method, f"{server.url}/random/path/{n}")
        http.request(method, f"{server.url}/api/v1/providers/nobody{n}/report")
        http.get(f"{server.url}/api/v1/providers/nobody{n}/report")


def test_made_up_methods_paths_and_providers_fold_into_one_label_value(
    http, buffer_server, buffer_settings
):
    made_up(http, buffer_server, 3)
    scrape(buffer_server)  # the first scrape is counted too: its series exist from then on
    few = scrape(buffer_server)
    made_up(http, buffer_server, 40, start=3)
    many = scrape(buffer_server)
    assert len(many) == len(few), "every new method, path or provider made new series"
    assert label_values(many, "method") <= STANDARD_METHODS | {"other"}
    rules = {route.rule for route in create_app(buffer_settings).routes}
    assert label_values(many, "endpoint") <= rules | {"unmatched"}
    assert label_values(many, "provider") <= set(load_profiles(buffer_settings)) | {"unknown"}


# --- password guessing ------------------------------------------------------------------------


class FromAddress(HTTPAdapter):
    """Connect from another loopback address: another client, as the buffer sees it."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address: str) -> requests.Session:
    session = requests.Session()
    session.hooks["response"].append(record)
    session.mount("http://", FromAddress(address))
    return session


@pytest.fixture
def guarded(start_buffer, buffer_settings):
    # One more guess earned every 0.2 s, so waiting out a refusal takes a moment, not minutes.
    return start_buffer(
        dataclasses.replace(buffer_settings, auth_failure_burst=5, auth_failure_refill=0.2)
    )


def test_repeated_wrong_passwords_are_refused_unchecked_with_retry_after(guarded):
    attacker = client("127.0.0.1")
    answers = [attacker.get(guarded.url + GET, auth=("marketing", f"guess-{n}")) for n in range(20)]
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [401] * 5
    assert 429 in statuses and statuses.count(401) < 10, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert_json_error(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1


def test_the_right_user_is_not_locked_out(guarded):
    attacker, marketing = client("127.0.0.1"), client("127.0.0.2")
    for n in range(20):
        attacker.get(guarded.url + GET, auth=("marketing", f"guess-{n}"))
    assert attacker.get(guarded.url + GET, auth=("marketing", "guess-x")).status_code == 429
    # Another client with the right password gets in at once …
    assert marketing.get(guarded.url + GET, auth=guarded.auth).status_code == 200
    # … and the guessing client too, once it waited as told (polled).
    deadline = time.monotonic() + 10
    while (answer := attacker.get(guarded.url + GET, auth=guarded.auth)).status_code == 429:
        assert time.monotonic() < deadline, "the right password never got in again"
        threading.Event().wait(0.05)
    assert answer.status_code == 200


def test_behind_the_cloud_foundry_router_the_client_is_the_address_it_appended(
    start_buffer, buffer_settings
):
    server = start_buffer(
        dataclasses.replace(
            buffer_settings, forwarded_hops=1, auth_failure_burst=3, auth_failure_refill=60
        )
    )
    http = client("127.0.0.1")
    for n in range(6):
        # The attacker writes what it likes first; the router appends the address it saw.
        forged = {"X-Forwarded-For": f"10.0.0.{n}, 203.0.113.7"}
        http.get(server.url + GET, auth=("marketing", f"g{n}"), headers=forged)
    throttled = http.get(
        server.url + GET, auth=server.auth, headers={"X-Forwarded-For": "203.0.113.7"}
    )
    assert throttled.status_code == 429
    other = http.get(
        server.url + GET, auth=server.auth, headers={"X-Forwarded-For": "198.51.100.1"}
    )
    assert other.status_code == 200


# --- masking: logs and the status page --------------------------------------------------------

NUMBERS = ("+4915112345678", "004917098765432", "4915255501234")


def _formatted(message: str, *args) -> str:
    record_ = logging.LogRecord("gunicorn.error", logging.WARNING, __file__, 1, message, args, None)
    return JsonFormatter().format(record_)


@pytest.mark.parametrize("number", NUMBERS, ids=["plus", "double-zero", "bare"])
def test_a_phone_number_in_any_form_is_masked_in_log_lines(number):
    line = _formatted("report for %s at %s", number, f"/api/v1/providers/{number}/report")
    assert number not in line and number[-9:-2] not in line
    assert number[-2:] in json.loads(line)["message"]


def test_no_log_line_carries_a_query_string():
    line = _formatted(
        "Invalid request from ip=%s: %s",
        "127.0.0.1",
        "Invalid HTTP request line: 'GET /api/v1/notifications/set?orderid=1&msisdn=x&status=y "
        "HTTP/1.1 junk'",
    )
    assert "orderid" not in line and "msisdn" not in line and "status=y" not in line
    assert "/api/v1/notifications/set" in line


def test_numbers_in_paths_are_masked_in_the_access_log(http, buffer_server):
    with json_logs() as lines:
        for number in NUMBERS:
            http.get(f"{buffer_server.url}/api/v1/providers/{number}/report")
            http.get(f"{buffer_server.url}/{number}")
    text = "\n".join(lines)
    for number in NUMBERS:
        assert number not in text and number[-9:-2] not in text
    assert len(access_entries(lines)) == 2 * len(NUMBERS)


def test_the_status_page_masks_numbers_in_every_form(http, buffer_server):
    status = "0x4503 Message 1 for " + " and ".join(NUMBERS) + " is out of coverage"
    assert send(http, buffer_server, "mask-1", msisdn="+4915112345678", status=status) == "stored"
    page = http.get(buffer_server.url + "/", auth=buffer_server.auth)
    assert page.status_code == 200
    for number in NUMBERS:
        assert number not in page.text and number[-9:-2] not in page.text


# --- security headers -------------------------------------------------------------------------

SECURITY_HEADERS = (
    "Cache-Control",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "X-Frame-Options",
)


def assert_secure(response):
    headers = response.headers
    assert headers.get("Cache-Control") == "no-store", headers
    assert headers.get("X-Content-Type-Options") == "nosniff", headers
    assert "default-src 'none'" in headers.get("Content-Security-Policy", ""), headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers.get("X-Frame-Options") == "DENY", headers


@pytest.mark.parametrize("path", [GET, "/", "/metrics"])
def test_authenticated_answers_carry_the_security_headers(http, buffer_server, path):
    assert_secure(http.get(buffer_server.url + path, auth=buffer_server.auth))
    assert_secure(http.get(buffer_server.url + path))  # the 401 too
    assert_secure(http.get(buffer_server.url + path, auth=("marketing", "wrong")))


def test_every_other_answer_carries_them_too(http, buffer_server):
    answers = [
        ingest(http, buffer_server, report_query()),
        ingest(http, buffer_server, report_query(msisdn=None)),
        http.get(buffer_server.url + "/healthz"),
        http.get(buffer_server.url + "/no/such/thing"),
        http.request("BREW", buffer_server.url + "/healthz"),
        http.post(
            buffer_server.url + "/api/v1/providers/jasmin/report?to=%2B4915112345678",
            data={"id": "j", "message_status": "UNDELIV", "donedate": "2403211128"},
        ),
    ]
    for answer in answers:
        assert_secure(answer)


# --- what the in-process server passes on as is -----------------------------------------------


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"], ids=["letters", "negative", "float"])
def test_a_content_length_that_is_no_length_is_a_400(buffer_server, length):
    answer = raw_request(
        buffer_server.url,
        b"POST /api/v1/providers/sinch/report HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: " + length.encode() + b"\r\n\r\n{}",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", answer
    assert json.loads(body)["error"]["status"] == 400
