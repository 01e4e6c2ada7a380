"""Workers killed with SIGKILL mid-request, and SQLite under several writing workers while
Marketing polls: nothing acknowledged is lost, nothing half-written, no "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import requests

from tests.fault.helpers import (
    STATUS,
    Marketing,
    Provider,
    buffer_env,
    kill_workers,
    make_reports,
    verdict,
)

pytestmark = pytest.mark.fault

REQUIRED = ('"messageId"', "recipient", '"statusCode"', '"statusText"', "type", "timestamp")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'buffer.db'}"
    return request.getfixturevalue("own_pg_url")


def test_killed_workers_lose_nothing_acknowledged(database_url, serve):
    buffer = serve(buffer_env(database_url, workers=3))
    reports = make_reports(2000, prefix="kill")
    provider = Provider([buffer.url], deadline=time.monotonic() + 90)
    marketing = Marketing([buffer])
    stop = threading.Event()
    killed: list[int] = []
    killer = threading.Thread(
        target=lambda: killed.extend(kill_workers(buffer, times=8, every=0.4, stop=stop))
    )
    killer.start()
    started = time.monotonic()
    deliveries = provider.deliver_all(reports, threads=12)
    stop.set()
    killer.join(timeout=10)
    elapsed = time.monotonic() - started
    served = marketing.finish(until=time.time() + 3 + 1)

    result = verdict(deliveries, served)
    print(result.summary(f"kill -9 ({database_url.split(':')[0]})"), f"killed={len(killed)}")
    print(f"seconds={elapsed:.1f}")
    result.assert_holds()
    assert len(killed) >= 3, "too few workers were killed to test anything"
    assert result.statuses[None] > 0, "no request was cut by a kill: nothing was tested"
    assert set(result.statuses) <= {200, 400, 503, None}, result.statuses

    buffer.stop()
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        incomplete = " OR ".join(f"{c} IS NULL OR {c} = ''" for c in REQUIRED)
        assert connection.execute(
            f"SELECT count(*) FROM notifications WHERE {incomplete}"
        ).fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM notifications").fetchone() == (
            result.acknowledged,
        )
        connection.close()


def test_sqlite_with_several_workers_never_reports_locked(tmp_path, serve):
    """Production timeouts (10 s database wait), four workers writing, Marketing polling and a
    reader hammering page 0: not one 503, and every report served once."""
    url = f"sqlite:///{tmp_path / 'buffer.db'}"
    buffer = serve(buffer_env(url, workers=4, SMSBOUNCE_DB_TIMEOUT="10", SMSBOUNCE_SETTLE_LAG="11"))
    reports = make_reports(2000, prefix="locked")
    provider = Provider([buffer.url], deadline=time.monotonic() + 90)
    marketing = Marketing([buffer], interval=0.5)
    stop = threading.Event()
    reads: list[int] = []

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                response = session.get(buffer.url + STATUS, auth=buffer.auth, timeout=30)
                reads.append(response.status_code)

    reader = threading.Thread(target=hammer)
    reader.start()
    started = time.monotonic()
    deliveries = provider.deliver_all(reports, threads=16)
    elapsed = time.monotonic() - started
    stop.set()
    reader.join(timeout=30)
    served = marketing.finish(until=time.time() + 11 + 1, timeout=90)

    result = verdict(deliveries, served)
    print(result.summary("sqlite, 4 workers"), f"reads={len(reads)} seconds={elapsed:.1f}")
    result.assert_holds()
    said = [line for line in buffer.output if "unavailable" in line or "Traceback" in line]
    assert set(result.statuses) <= {200, 400}, (result.statuses, said[-5:])
    assert set(reads) == {200}, f"page reads answered {set(reads)}"
    assert marketing.failed_reads == 0
    buffer.stop()
    assert not any("locked" in line for line in buffer.output), "".join(buffer.output)[-2000:]
