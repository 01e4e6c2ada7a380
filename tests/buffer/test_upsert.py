"""Repeated reports for one message (docs/spec.md §4): ranked, atomic, race-safe — on both
databases."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from tests.helpers import FakeClock, all_bounces, ingest, report_query, send, utc
from tests.serve_process import ServeProcess

T0 = utc("20260301120000")
TEMPORARY, PERMANENT = "0xDBF3 retrying", "0x4503 out of coverage"


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def deliver(http, server, message_id, status, time):
    return send(http, server, message_id, status=status, time=time, date="01032026")


@pytest.mark.parametrize(
    ("sequence", "results", "served"),
    [
        ([(PERMANENT, "100000"), (PERMANENT, "100000")], ["stored", "ignored"], "0x4503@100000"),
        ([(TEMPORARY, "100000"), (PERMANENT, "100500")], ["stored", "stored"], "0x4503@100500"),
        ([(PERMANENT, "100500"), (TEMPORARY, "100000")], ["stored", "ignored"], "0x4503@100500"),
        ([(PERMANENT, "100000"), (TEMPORARY, "110000")], ["stored", "ignored"], "0x4503@100000"),
        ([(TEMPORARY, "100000"), (PERMANENT, "090000")], ["stored", "stored"], "0x4503@090000"),
        ([(TEMPORARY, "100000"), (TEMPORARY, "100500")], ["stored", "stored"], "0xDBF3@100500"),
        ([(TEMPORARY, "100500"), (TEMPORARY, "100000")], ["stored", "ignored"], "0xDBF3@100500"),
        (
            [(TEMPORARY, "100000"), ("0x451A delivered", "100500")],
            ["stored", "acknowledged"],
            "0xDBF3@100000",
        ),
    ],
    ids=[
        "duplicate",
        "upgrade-temporary-to-permanent",
        "weaker-arrives-late",
        "weaker-even-if-newer",
        "stronger-even-if-older",
        "same-rank-newer-wins",
        "same-rank-older-ignored",
        "success-after-bounce",
    ],
)
def test_sequences_keep_the_most_significant_report(http, buffer_server, sequence, results, served):
    assert [deliver(http, buffer_server, "m", s, t) for s, t in sequence] == results
    [bounce] = all_bounces(http, buffer_server)
    assert f"{bounce['statusCode']}@{bounce['timestamp'][8:]}" == served


def test_the_winner_is_served_again_in_a_later_window(http, start_buffer, buffer_settings):
    clock = FakeClock(T0 + timedelta(minutes=1))
    server = start_buffer(buffer_settings, clock)
    deliver(http, server, "m", TEMPORARY, "120000")
    first_window = (T0, T0 + timedelta(minutes=10))
    assert [b["type"] for b in all_bounces(http, server, first_window)] == ["Temporary"]

    clock.set(T0 + timedelta(minutes=12))
    deliver(http, server, "m", PERMANENT, "121100")
    clock.set(T0 + timedelta(minutes=14))
    deliver(http, server, "m", TEMPORARY, "121300")  # weaker: no new ingest time
    assert all_bounces(http, server, first_window) == []
    later = all_bounces(http, server, (T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)))
    assert [(b["type"], b["timestamp"]) for b in later] == [("Permanent", "20260301121100")]


def test_two_server_processes_upserting_the_same_ids_concurrently(buffer_settings, db_url):
    env = {
        "SMSBOUNCE_DATABASE_URL": db_url,
        "SMSBOUNCE_API_PASSWORD": buffer_settings.api_password,
        "SMSBOUNCE_WORKERS": "2",
    }
    messages = [f"race{n}" for n in range(40)]
    with ServeProcess(env) as first, ServeProcess(env) as second:
        jobs = [
            (server, message_id, status, time)
            for message_id in messages
            for server, status, time in (
                (first, TEMPORARY, "100000"),
                (second, PERMANENT, "100500"),
                (second, TEMPORARY, "100000"),
                (first, PERMANENT, "100500"),
            )
        ]

        def run(job):
            server, message_id, status, time = job
            query = report_query(orderID=message_id, status=status, time=time, date="01032026")
            return ingest(requests, server, query).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(run, jobs))
        assert codes == [200] * len(jobs)
        bounces = all_bounces(requests, first)
    assert sorted(b["messageId"] for b in bounces) == sorted(messages)
    assert {(b["type"], b["timestamp"]) for b in bounces} == {("Permanent", "20260301100500")}
