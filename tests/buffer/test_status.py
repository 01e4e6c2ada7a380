"""/api/v1/notifications/get: Marketing's pages and windows (docs/spec.md §2.1, §4), both
databases."""

import dataclasses
import logging
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import requests

from tests.helpers import (
    REPORTS_WRITE,
    FakeClock,
    all_bounces,
    assert_json_error,
    hold_write_lock,
    send,
    status_page,
    utc,
    wait_for_lock_waiter,
)

STATUS = "/api/v1/notifications/get"
T0 = utc("20260301120000")


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def ids(items):
    return [item["messageId"] for item in items]


def test_250_bounces_make_pages_of_100_100_50(http, buffer_server):
    for n in range(250):
        send(http, buffer_server, f"m{n:03}")
    pages = [status_page(http, buffer_server, page) for page in range(4)]
    assert [len(p["status"]) for p in pages] == [100, 100, 50, 0]
    assert [p["lastPage"] for p in pages] == [False, False, True, True]
    assert [p["page"] for p in pages] == ["0", "1", "2", "3"]
    served = ids(pages[0]["status"] + pages[1]["status"] + pages[2]["status"])
    assert sorted(served) == [f"m{n:03}" for n in range(250)]


def test_exactly_one_full_page_is_the_last_page(http, start_buffer, buffer_settings):
    server = start_buffer(dataclasses.replace(buffer_settings, page_size=3))
    for n in range(3):
        send(http, server, f"m{n}")
    assert status_page(http, server, 0)["lastPage"] is True


def test_empty_buffer_and_page_past_the_end(http, buffer_server):
    assert status_page(http, buffer_server, 0) == {"page": "0", "lastPage": True, "status": []}
    send(http, buffer_server, "only")
    assert status_page(http, buffer_server, 7) == {"page": "7", "lastPage": True, "status": []}


def test_contiguous_windows_serve_every_bounce_exactly_once(http, start_buffer, buffer_settings):
    clock = FakeClock(T0)
    server = start_buffer(dataclasses.replace(buffer_settings, page_size=7), clock)
    expected = []
    for minute in range(30):
        clock.set(T0 + timedelta(minutes=minute, seconds=minute % 7, microseconds=999_999))
        for n in range(3):
            send(http, server, f"m{minute:02}-{n}")
            expected.append(f"m{minute:02}-{n}")
    # Polls every 10 minutes from T0, as Marketing does, plus one odd-sized window.
    edges = [T0 + timedelta(minutes=m) for m in (0, 10, 20, 23, 30)]
    served = []
    for start, end in zip(edges, edges[1:]):
        served += ids(all_bounces(http, server, (start, end)))
    assert sorted(served) == expected
    assert all_bounces(http, server, (T0 - timedelta(hours=1), T0)) == []


def test_windows_select_on_ingest_time_so_a_late_report_is_still_served(
    http, start_buffer, buffer_settings
):
    clock = FakeClock(T0 + timedelta(minutes=25))
    server = start_buffer(buffer_settings, clock)
    # Event 12:05, but the provider retried: it arrived at 12:25, after [12:00, 12:10) was polled.
    send(http, server, "late", time="120500", date="01032026")
    assert all_bounces(http, server, (T0, T0 + timedelta(minutes=10))) == []
    [bounce] = all_bounces(http, server, (T0 + timedelta(minutes=20), T0 + timedelta(minutes=30)))
    assert (bounce["messageId"], bounce["timestamp"]) == ("late", "20260301120500")


def test_settle_lag_shifts_the_window(http, start_buffer, buffer_settings):
    clock = FakeClock(T0 + timedelta(seconds=5))
    server = start_buffer(dataclasses.replace(buffer_settings, settle_lag=30.0), clock)
    send(http, server, "x")
    # Ingested 12:00:05 is served in the window that ends 30 s later, not the one it fell in.
    assert all_bounces(http, server, (T0, T0 + timedelta(seconds=30))) == []
    assert ids(
        all_bounces(http, server, (T0 + timedelta(seconds=30), T0 + timedelta(minutes=1)))
    ) == ["x"]


def test_a_commit_delayed_past_a_poll_is_served_exactly_once_in_the_next_window(
    http, start_buffer, buffer_settings, db_url
):
    # The ingest time is taken before the insert waits; the row becomes visible only on commit.
    settings = dataclasses.replace(buffer_settings, settle_lag=5.0, db_timeout=4.0)
    server = start_buffer(settings)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    # On PostgreSQL the upsert is stamped by the database as it runs, before it waits for
    # another transaction inserting the same message; SQLite writers wait for the write lock
    # invisibly, and are stamped once they hold it, so any interleaving gives the same answer.
    release = hold_message(db_url, "slow") if db_url.startswith("postgres") else None
    release = release or hold_write_lock(db_url)
    answers = []
    writer = threading.Thread(target=lambda: answers.append(send(http, server, "slow")))
    writer.start()
    if db_url.startswith("postgres"):
        wait_for_lock_waiter(db_url, *REPORTS_WRITE)
    # Marketing polls while the row is ingested but not committed: [start, now).
    first_end = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    first = ids(all_bounces(requests, server, (start, first_end)))
    release()
    writer.join(timeout=10)
    assert answers == ["stored"]
    second = ids(all_bounces(requests, server, (first_end, first_end + timedelta(minutes=1))))
    assert first + second == ["slow"]


def hold_message(pg_url: str, message_id: str):
    """Insert ``message_id`` from a second connection and keep the transaction open, so an
    upsert of the same message waits for it; return the function that rolls it back."""
    import psycopg

    connection = psycopg.connect(pg_url)
    connection.cursor().execute(
        'INSERT INTO notifications ("messageId", recipient, "statusCode", "statusText", type, '
        'timestamp, "ingestedAt", provider) '
        "VALUES (%s, '+4915112345678', '0x4503', 'held', 'Permanent', '20260301120000', 0, 'di')",
        (message_id,),
    )
    return lambda: (connection.rollback(), connection.close())


def test_source_system_is_logged(http, buffer_server, caplog):
    with caplog.at_level(logging.INFO, logger="smsbounce.buffer"):
        status_page(http, buffer_server, 0, sourceSystem="MKT\x1bTENANT")
    assert "sourceSystem='MKT\\x1bTENANT'" in caplog.text


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "-1"}, "page"),
        ({"page": "01"}, "page"),
        ({"page": "one"}, "page"),
        ({"page": "99999999"}, "page"),
        ({"startTimeUTC": "20260301120000"}, "endTimeUTC"),
        ({"endTimeUTC": "20260301120000"}, "startTimeUTC"),
        ({"startTimeUTC": "2026-03-01", "endTimeUTC": "20260301120000"}, "startTimeUTC"),
        ({"startTimeUTC": "20260301120000", "endTimeUTC": "20260231120000"}, "endTimeUTC"),
        ({"startTimeUTC": "20260301120000", "endTimeUTC": "20260301115959"}, "endTimeUTC"),
        ({"startTimeUTC": "20200101000000", "endTimeUTC": "20260101000000"}, "endTimeUTC"),
        ({"sourceSystem": "S" * 101}, "sourceSystem"),
    ],
    ids=lambda value: urlencode(value) if isinstance(value, dict) else value,
)
def test_invalid_status_request_is_a_400_naming_the_parameter(
    http, buffer_server, params, parameter
):
    response = http.get(buffer_server.url + STATUS, params=params, auth=buffer_server.auth)
    assert_json_error(response, 400, parameter)


@pytest.mark.parametrize(
    "auth", [None, ("marketing", "wrong"), ("someone", "s3cret-for-tests")], ids=str
)
def test_status_needs_basic_auth(http, buffer_server, auth):
    response = http.get(buffer_server.url + STATUS, auth=auth)
    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="smsbounce"')


def test_clear_does_not_exist_unless_enabled(http, buffer_server):
    send(http, buffer_server, "kept")
    response = http.get(buffer_server.url + "/api/v1/notifications/clear", auth=buffer_server.auth)
    assert_json_error(response, 404)
    assert ids(all_bounces(http, buffer_server)) == ["kept"]


def test_clear_when_enabled_still_needs_auth(http, start_buffer, buffer_settings):
    server = start_buffer(
        dataclasses.replace(buffer_settings, enable_clear=True, environment="test")
    )
    send(http, server, "a")
    send(http, server, "b")
    assert_json_error(http.get(server.url + "/api/v1/notifications/clear"), 401)
    response = http.get(server.url + "/api/v1/notifications/clear", auth=server.auth)
    assert response.json() == {"deleted": 2}
    assert all_bounces(http, server) == []


def test_health_and_readiness_need_no_auth(http, buffer_server):
    assert http.get(buffer_server.url + "/healthz").json() == {"status": "ok"}
    assert http.get(buffer_server.url + "/readyz").json()["status"] == "ready"


def test_deep_pages_of_an_ended_window_match_a_fresh_read(http, start_buffer, buffer_settings):
    # Pages of an ended window seek from remembered page starts; any access order must give
    # the same pages as reading them in order.
    clock = FakeClock(T0)
    server = start_buffer(dataclasses.replace(buffer_settings, page_size=4), clock)
    for n in range(23):
        clock.set(T0 + timedelta(seconds=n // 3))
        send(http, server, f"m{n:02}")
    clock.set(T0 + timedelta(hours=1))
    window = (T0, T0 + timedelta(minutes=1))
    in_order = [status_page(http, server, p, window) for p in range(7)]
    assert sorted(ids(sum((p["status"] for p in in_order), []))) == [f"m{n:02}" for n in range(23)]
    for page in (5, 2, 6, 0, 4):
        assert status_page(http, server, page, window) == in_order[page]


def test_a_bounce_moving_out_of_a_window_being_read_does_not_hide_another(
    http, start_buffer, buffer_settings
):
    clock = FakeClock(T0)
    server = start_buffer(dataclasses.replace(buffer_settings, page_size=3), clock)
    for n in range(6):
        clock.set(T0 + timedelta(seconds=n))
        send(http, server, f"m{n}", status="0xDBF3 retrying")
    clock.set(T0 + timedelta(hours=1))
    window = (T0, T0 + timedelta(minutes=1))
    first = ids(status_page(http, server, 0, window)["status"])
    # m0 turns Permanent: it gets a new ingest time, outside this window, while Marketing reads.
    send(http, server, "m0", status="0x4503 gone")
    second = ids(status_page(http, server, 1, window)["status"])
    assert first + second == ["m0", "m1", "m2", "m3", "m4", "m5"]
