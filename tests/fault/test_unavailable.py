"""A database that is slow (a held lock), crashed, or hanging (accepts, never answers): the
buffer answers 503 with Retry-After within a bounded time, never hangs, and recovers (docs/spec.md
§4)."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from smsbounce import contracts
from tests.fault.helpers import INGEST, STATUS, HangingProxy, buffer_env
from tests.helpers import report_query

pytestmark = pytest.mark.fault

DB_TIMEOUT = 1.0
# The pool wait, a connect and a statement may each take up to the database timeout.
BOUND_S = 3 * DB_TIMEOUT + 2


def env(url: str) -> dict[str, str]:
    return buffer_env(
        url, workers=2, SMSBOUNCE_DB_TIMEOUT=str(DB_TIMEOUT), SMSBOUNCE_SETTLE_LAG="2"
    )


def calls(buffer, tag: str) -> list[tuple[str, dict]]:
    """Eight concurrent provider reports and two Marketing reads."""
    sets = [(buffer.url + INGEST + "?" + report_query(orderID=f"{tag}-{i}"), {}) for i in range(8)]
    gets = [(buffer.url + STATUS, {"auth": buffer.auth})] * 2
    return sets + gets


def assert_503_in_time(
    buffer, tag: str, reads_blocked: bool = True, bound: float = BOUND_S
) -> None:
    """Every call answers within ``bound`` s; reports get 503 + Retry-After, reads too if
    ``reads_blocked`` (SQLite in WAL mode keeps serving reads while another process holds the
    write lock)."""

    def call(target):
        url, extra = target
        started = time.monotonic()
        response = requests.get(url, timeout=60, **extra)
        return response, time.monotonic() - started

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(call, calls(buffer, tag)))
    slowest = max(seconds for _, seconds in answers)
    print(f"{tag}: {[r.status_code for r, _ in answers]} slowest={slowest:.2f}s")
    for response, seconds in answers:
        is_read = STATUS in response.url
        if is_read and not reads_blocked and response.status_code == 200:
            continue
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) > 0
        contracts.validate("error", response.json())
        assert seconds < bound, f"answered after {seconds:.1f} s"


def assert_recovered(buffer, tag: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        response = requests.get(buffer.url + INGEST + "?" + report_query(orderID=tag), timeout=30)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.json()["result"] == "stored", response.text


def test_postgres_lock_held_answers_503_in_time(own_pg_url, serve):
    buffer = serve(env(own_pg_url))
    assert_recovered(buffer, "before")
    blocker = psycopg.connect(own_pg_url)
    with blocker.cursor() as cursor:
        cursor.execute("LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE")
        assert_503_in_time(buffer, "locked")
    blocker.rollback()
    blocker.close()
    assert_recovered(buffer, "after")


def test_postgres_crashed_answers_503_in_time(own_pg, own_pg_url, serve):
    buffer = serve(env(own_pg_url))
    assert_recovered(buffer, "before")
    own_pg.crash()
    try:
        assert_503_in_time(buffer, "crashed")
    finally:
        own_pg.start()
    assert_recovered(buffer, "after")


def test_postgres_not_answering_gives_503_in_time(own_pg_url, serve):
    parts = urlsplit(own_pg_url)
    proxy = HangingProxy(parts.port)
    try:
        url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
        buffer = serve(env(url))
        assert_recovered(buffer, "before")
        proxy.hang()
        assert_503_in_time(buffer, "hanging")
        proxy.resume()
        assert_recovered(buffer, "after")
    finally:
        proxy.close()


def test_sqlite_locked_by_another_process_answers_503_in_time(tmp_path, serve):
    path = tmp_path / "buffer.db"
    buffer = serve(env(f"sqlite:///{path}"))
    assert_recovered(buffer, "before")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert_503_in_time(buffer, "sqlite-locked", reads_blocked=False)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert_recovered(buffer, "after")
