"""One clock (docs/spec.md §4): on PostgreSQL the database stamps ingest times, so an instance
whose clock is off still files reports into the windows Marketing has not read yet; on SQLite
(one host) the host's clock does. The offset is shown by /readyz and /metrics and warned about
past half the settle lag. Both databases."""

import dataclasses
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from smsbounce.buffer.clock import WARN_EVERY_S, ClockWatch
from tests.buffer.ops_helpers import scrape, value
from tests.helpers import all_bounces, send, status_page

BEHIND_S = 60


def behind(seconds: float):
    """An instance clock (UTC microseconds) ``seconds`` behind the real one."""
    return lambda: time.time_ns() // 1000 - int(seconds * 1_000_000)


def ids(items):
    return [item["messageId"] for item in items]


def whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


@pytest.fixture
def lagging_buffer(start_buffer, buffer_settings):
    """A buffer whose own clock is a minute behind; settle lag 30 s (warns past 15 s)."""
    settings = dataclasses.replace(buffer_settings, settle_lag=30.0, db_timeout=5.0)
    return start_buffer(settings, host_clock=behind(BEHIND_S))


def test_a_lagging_instance_files_reports_on_the_one_clock(db_url, start_buffer, buffer_settings):
    server = start_buffer(buffer_settings, host_clock=behind(BEHIND_S))  # settle lag 0
    before = whole_second(datetime.now(timezone.utc))
    assert send(requests, server, "late-clock") == "stored"
    after = whole_second(datetime.now(timezone.utc)) + timedelta(seconds=1)
    minute_ago = (before - timedelta(seconds=BEHIND_S), after - timedelta(seconds=BEHIND_S))
    if db_url.startswith("postgres"):
        # The database's clock: the window Marketing reads next, whatever the instance thinks.
        assert ids(all_bounces(requests, server, (before, after))) == ["late-clock"]
        assert all_bounces(requests, server, minute_ago) == []
    else:
        # One host, one clock: SQLite's ingest times are the host's, lagging or not.
        assert ids(all_bounces(requests, server, minute_ago)) == ["late-clock"]


def test_readyz_and_metrics_show_the_offset_and_a_warning_is_logged(db_url, lagging_buffer, caplog):
    with caplog.at_level(logging.WARNING, logger="smsbounce.clock"):
        ready = requests.get(lagging_buffer.url + "/readyz").json()
        samples = scrape(lagging_buffer)
    gauge = value(samples, "smsbounce_clock_offset_seconds")
    warnings = [r.getMessage() for r in caplog.records if r.name == "smsbounce.clock"]
    if db_url.startswith("postgres"):
        assert ready["ingestClock"] == "database"
        # The database is a minute ahead of this instance (give or take a round trip).
        assert BEHIND_S - 1 < ready["clockOffsetSeconds"] < BEHIND_S + 1, ready
        assert BEHIND_S - 1 < gauge < BEHIND_S + 1
        [warning] = warnings  # the scrape measured again, within the minute: not repeated
        assert "60.0" in warning and "s behind the database's" in warning
        assert "half the settle lag (30 s)" in warning
    else:
        assert (ready["ingestClock"], ready["clockOffsetSeconds"], gauge) == ("host", 0, 0)
        assert warnings == []


def test_an_instance_in_step_with_the_database_is_not_warned_about(
    start_buffer, buffer_settings, caplog
):
    settings = dataclasses.replace(buffer_settings, settle_lag=30.0, db_timeout=5.0)
    server = start_buffer(settings)
    with caplog.at_level(logging.WARNING, logger="smsbounce.clock"):
        ready = requests.get(server.url + "/readyz").json()
    assert abs(ready["clockOffsetSeconds"]) < 1
    assert [r for r in caplog.records if r.name == "smsbounce.clock"] == []


def test_the_warning_repeats_once_a_minute_while_the_offset_lasts(caplog):
    class Offset:
        seconds = 20.0

        def clock_offset(self):
            return self.seconds

    store, now = Offset(), [0.0]
    seen = []
    watch = ClockWatch(
        store,
        settle_lag=30.0,
        observe=lambda reading: seen.append(reading.offset),
        monotonic=lambda: now[0],
    )
    with caplog.at_level(logging.WARNING, logger="smsbounce.clock"):
        for moment in (0, 1, WARN_EVERY_S - 1, WARN_EVERY_S + 1):
            now[0] = moment
            watch.measure()
        store.seconds = -14.0  # within half the lag: measured, not warned
        watch.measure()
        now[0] = 3 * WARN_EVERY_S
        watch.measure()
    assert seen == [20.0] * 4 + [-14.0] * 2
    assert len(caplog.records) == 2


def test_pages_of_an_ended_window_on_the_one_clock_match_a_fresh_read(
    http_session, start_buffer, buffer_settings
):
    # No pinned clock: on PostgreSQL the database says when a window has ended (so its page
    # starts may be remembered), on SQLite the host does; deep pages must match either way.
    server = start_buffer(dataclasses.replace(buffer_settings, page_size=3))
    start = whole_second(datetime.now(timezone.utc)) - timedelta(seconds=1)
    for n in range(11):
        send(http_session, server, f"m{n:02}")
    window = (start, whole_second(datetime.now(timezone.utc)) + timedelta(seconds=1))
    while datetime.now(timezone.utc) < window[1]:  # until the window has ended
        time.sleep(0.05)
    in_order = [status_page(http_session, server, p, window) for p in range(4)]
    served = sum((page["status"] for page in in_order), [])
    assert sorted(ids(served)) == [f"m{n:02}" for n in range(11)]
    for page in (3, 1, 2, 0):
        assert status_page(http_session, server, page, window) == in_order[page]


@pytest.fixture
def http_session():
    with requests.Session() as session:
        yield session
