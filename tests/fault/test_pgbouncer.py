"""Behind a real PgBouncer (Debian package ``pgbouncer``): ``smsbounce serve`` starts, migrates,
stores and serves in transaction pooling mode — where consecutive transactions of one client run
on different server connections — and in session mode; the database timeouts still apply (they
are set per transaction); the set test holds through a PgBouncer restart; a saturated PgBouncer
answers 503 with Retry-After and the buffer is back by itself (docs/operations.md, "Scale out")."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import requests

from smsbounce.contracts.wire import format_utc
from tests.fault.helpers import STATUS, PgBouncer, buffer_env, unavailable
from tests.fault.test_set import run_set_test
from tests.fault.test_unavailable import assert_503_in_time, assert_recovered, env

pytestmark = pytest.mark.fault

QUERY_WAIT_S = 1


@pytest.fixture
def pgbouncer(own_pg):
    """Start PgBouncers in front of the suite's PostgreSQL; each is destroyed at teardown."""
    started: list[PgBouncer] = []

    def start(pool_mode: str = "transaction", **settings) -> PgBouncer:
        try:
            bouncer = PgBouncer(own_pg.port, pool_mode, **settings)
        except FileNotFoundError as exc:
            unavailable(f"the PgBouncer tests need a real PgBouncer: {exc}")
        started.append(bouncer)
        bouncer.start()
        return bouncer

    yield start
    for bouncer in started:
        bouncer.destroy()


def read_window(buffer, start: datetime, end: datetime) -> list[str]:
    params = {
        "startTimeUTC": format_utc(start),
        "endTimeUTC": format_utc(end),
    }
    response = requests.get(buffer.url + STATUS, params=params, auth=buffer.auth, timeout=30)
    assert response.status_code == 200, response.text
    return [item["messageId"] for item in response.json()["status"]]


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_serve_works_behind_pgbouncer_and_its_timeouts_still_hold(
    pool_mode, pgbouncer, own_pg_url, serve
):
    bouncer = pgbouncer(pool_mode)
    buffer = serve(env(bouncer.url(own_pg_url)))  # migrates through PgBouncer at start
    ready = requests.get(buffer.url + "/readyz", timeout=30).json()
    assert (ready["status"], ready["ingestClock"]) == ("ready", "database")
    start = datetime.now(timezone.utc).replace(microsecond=0)
    assert_recovered(buffer, "through-pgbouncer")
    # Settle lag 2 s: the report is served in the window that ends 2 s after it came.
    end = start + timedelta(seconds=4)
    while datetime.now(timezone.utc) < end:
        time.sleep(0.1)
    assert read_window(buffer, start, end) == ["through-pgbouncer"]

    # A lock held directly on PostgreSQL: the statement and lock timeouts, set inside each
    # transaction, still end the wait through the pooler (a session setting could not).
    blocker = psycopg.connect(own_pg_url)
    with blocker.cursor() as cursor:
        cursor.execute("LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE")
        assert_503_in_time(buffer, f"locked-{pool_mode}")
    blocker.rollback()
    blocker.close()
    assert_recovered(buffer, f"after-{pool_mode}")


def test_two_instances_behind_pgbouncer_hold_the_set_through_its_restart(
    own_pg, own_pg_url, pgbouncer, serve
):
    # 2 instances x 2 workers x 4 connections = 16 clients on 4 server connections.
    bouncer = pgbouncer("transaction", default_pool_size=4)
    url = bouncer.url(own_pg_url)
    instances = [serve(buffer_env(url, workers=2, SMSBOUNCE_DB_POOL_SIZE="4")) for _ in range(2)]
    result = run_set_test(
        own_pg, instances, "pgbouncer-restart", stop=bouncer.kill, start=bouncer.start
    )
    assert result.acknowledged > 0


def test_a_saturated_pgbouncer_answers_503_and_the_buffer_recovers_by_itself(
    pgbouncer, own_pg_url, serve
):
    # One server connection, and a query waits at most 1 s for it (query_wait_timeout, which
    # operators set no higher than SMSBOUNCE_DB_TIMEOUT, docs/operations.md "Scale out").
    bouncer = pgbouncer("transaction", max_db_connections=1, query_wait_timeout=QUERY_WAIT_S)
    buffer = serve(env(bouncer.url(own_pg_url)))
    assert_recovered(buffer, "before")
    holder = psycopg.connect(bouncer.url(own_pg_url))
    with holder.cursor() as cursor:
        cursor.execute("SELECT 1")  # a transaction is open: the server connection is taken
        # A call waits twice at most (the pool's check of its connection, then the
        # transaction), each ended by PgBouncer's once-a-second timeout check; 10 calls on
        # 8 threads take two rounds. Without query_wait_timeout they would hang for minutes.
        assert_503_in_time(buffer, "saturated", bound=2 * 2 * (QUERY_WAIT_S + 1) + 2)
    holder.rollback()
    holder.close()
    assert_recovered(buffer, "after")
