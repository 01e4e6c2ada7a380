"""The poller against a real buffer (SQLite and PostgreSQL) and against deliberately broken
status servers: every bounce exactly once across windows, every violation named, no crash."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

import smsbounce.simulators.marketing.poller as poller_module
from smsbounce.simulators.marketing.poller import Poller
from smsbounce.simulators.marketing.windows import parse_stamp, whole_second
from tests.helpers import FakeClock, send
from tests.simulators.marketing.helpers import MARKETING, StatusServer, item, page
from tests.testenv import settings_for

STATUS = "/api/v1/notifications/get"
DBF3 = "0xDBF3 Message 1 of the order {id} at destination of +4915112345678 is being retried"


def test_windows_serve_every_bounce_once_with_the_settle_lag(start_buffer, db_url):
    t0 = whole_second(datetime.now(timezone.utc)) - timedelta(minutes=5)
    clock = FakeClock(t0 + timedelta(seconds=1))
    server = start_buffer(settings_for(db_url, page_size=3, settle_lag=10.0), clock=clock)
    session = requests.Session()
    for n in range(100, 106):
        assert send(session, server, str(n)) == "stored"
    assert send(session, server, "106", status=DBF3.format(id=106)) == "stored"

    poller = Poller(server.url + STATUS, server.auth, t0, source_system="MC_TEST")
    # [t0, t0+5) serves receive times [t0-10, t0-5): nothing yet, the lag holds them back.
    early = poller.tick(now=t0 + timedelta(seconds=5))
    assert (early.interactions, early.violations, early.failure) == ([], [], None)

    middle = poller.tick(now=t0 + timedelta(seconds=12, microseconds=500_000))
    assert middle.violations == [] and middle.failure is None
    assert middle.pages == 3  # 3 + 3 + 1 with page size 3
    assert [i.message_id for i in middle.interactions] == [str(n) for n in range(100, 107)]
    assert middle.interactions[-1].bounce == "soft"
    assert middle.interactions[0].bounce == "hard"
    assert middle.interactions[0].reason.startswith("Message 1 of the order 1000001")

    clock.set(t0 + timedelta(seconds=20))
    assert send(session, server, "100") == "ignored"  # a duplicate changes nothing
    assert send(session, server, "106") == "stored"  # Permanent replaces Temporary
    late = poller.tick(now=t0 + timedelta(seconds=40))
    assert [(i.message_id, i.bounce) for i in late.interactions] == [("106", "hard")]

    assert poller.violations == [] and poller.failures == [] and poller.windows == 3
    states = [i.state for i in poller.interactions]
    assert len(states) == len(set(states)) == 8
    # Contiguous windows, every page asked with the same window, all parameters as Marketing.
    assert (early.end, middle.end) == (middle.start, late.start)
    assert poller.last_end == t0 + timedelta(seconds=40)


def test_poll_in_real_time_against_the_buffer(buffer_server):
    session = requests.Session()
    since = whole_second(datetime.now(timezone.utc))
    assert send(session, buffer_server, "4711") == "stored"
    poller = Poller(buffer_server.url + STATUS, buffer_server.auth, since)
    result = poller.tick(now=datetime.now(timezone.utc) + timedelta(seconds=2))
    assert [i.message_id for i in result.interactions] == ["4711"]
    assert poller.violations == []


def test_wrong_credentials_fail_the_window_which_is_asked_again(buffer_server):
    since = whole_second(datetime.now(timezone.utc))
    poller = Poller(buffer_server.url + STATUS, ("marketing", "wrong"), since)
    result = poller.tick(now=since + timedelta(seconds=3))
    assert result.failure.startswith("page 0: HTTP 401")
    assert poller.last_end == since and poller.windows == 0
    assert poller.failures == [f"window {result.label}: {result.failure}"]


@pytest.fixture
def status_server():
    started = []

    def start(answer) -> StatusServer:
        server = StatusServer(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _poll(server, seconds=5):
    since = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    poller = Poller(server.url, MARKETING, since)
    return poller, poller.tick(now=since + timedelta(seconds=seconds))


def _pages(*documents):
    """An answer that serves ``documents`` as pages 0, 1, …, then empty last pages."""
    return lambda n, params: documents[n] if n < len(documents) else page(n, True)


BROKEN = {
    "page-as-number": (
        lambda n, params: {"page": n, "lastPage": True, "status": []},
        "page 0: page is echoed as 0 (int), expected the string '0'",
    ),
    "lastPage-too-early": (
        lambda n, params: page(n, True, [item(f"id{n}")]),
        "page 1 after the last page holds 1 items: lastPage came too early",
    ),
    "lastPage-missing": (
        lambda n, params: {"page": str(n), "status": []},
        "page 0: lastPage is None, stopping here",
    ),
    "duplicate-across-pages": (
        _pages(page(0, False, [item("A"), item("B")]), page(1, True, [item("B")])),
        "messageId 'B' is served 2 times in one window",
    ),
    "empty-page-not-last": (
        _pages(page(0, False, [item("A")]), page(1, False), page(2, True, [item("C")])),
        "page 1: empty, but lastPage is false",
    ),
    "internal-column": (
        _pages(page(0, True, [item("A", ingestTime="20260101120000")])),
        "page 0: contract status-response: $.status[0]: Additional properties are not allowed",
    ),
}


@pytest.mark.parametrize(("answer", "expected"), BROKEN.values(), ids=BROKEN)
def test_violations_are_reported_not_crashed_on(status_server, answer, expected):
    server = status_server(answer)
    poller, result = _poll(server)
    assert result.failure is None
    reasons = [v.reason for v in poller.violations]
    assert any(reason.startswith(expected) for reason in reasons), reasons
    assert str(poller.violations[0]).startswith("window 20260101120000-20260101120005: ")
    assert poller.windows == 1  # the window is booked all the same: Marketing would go on


def test_a_server_that_never_says_lastPage_is_stopped(status_server, monkeypatch):
    monkeypatch.setattr(poller_module, "MAX_PAGES", 4)
    server = status_server(lambda n, params: page(n, False, [item(f"id{n}")]))
    poller, result = _poll(server)
    assert [v.reason for v in result.violations] == ["no lastPage: true after 4 pages"]
    assert len(server.queries) == 4


def test_the_requests_are_marketings(status_server):
    server = status_server(_pages(page(0, False, [item("A")]), page(1, True, [item("B")])))
    poller, result = _poll(server)
    assert [q["page"] for q in server.queries] == ["0", "1", "2"]  # 2: the past-the-end probe
    for query in server.queries:
        assert query["startTimeUTC"] == "20260101120000"
        assert query["endTimeUTC"] == "20260101120005"
        assert query["sourceSystem"] == "SMSBOUNCE_SIM"
    assert [i.message_id for i in poller.interactions] == ["A", "B"]
    assert (result.pages, poller.violations) == (2, [])
    assert parse_stamp(poller.interactions[0].window[:14]) == result.start


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ((500, "boom"), "page 1: HTTP 500: boom"),
        ((200, "<html>"), "page 1: the answer is not JSON"),
    ],
    ids=["http-500", "not-json"],
)
def test_a_failed_page_discards_the_window_and_asks_it_again(status_server, failure, expected):
    calls = {"failed": False}

    def answer(n, params):
        if n == 1 and not calls["failed"]:
            calls["failed"] = True
            return failure
        return page(n, n >= 1, [item(f"{params['endTimeUTC']}-{n}")] if n < 2 else [])

    server = status_server(answer)
    since = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    poller = Poller(server.url, MARKETING, since)
    first = poller.tick(now=since + timedelta(seconds=5))
    assert first.failure.startswith(expected) and first.interactions == []
    assert poller.last_end == since and poller.interactions == []
    second = poller.tick(now=since + timedelta(seconds=9))
    assert (second.start, second.failure) == (since, None)
    assert [i.message_id for i in poller.interactions] == ["20260101120009-0", "20260101120009-1"]
