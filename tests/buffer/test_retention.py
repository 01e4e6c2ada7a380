"""Retention: purge in batches, never a bounce a window can still poll, safe while ingesting;
``smsbounce purge`` and the in-process schedule."""

import os
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest
import requests

from smsbounce.buffer import retention
from smsbounce.buffer.settings import Settings, SettingsError
from smsbounce.buffer.store import Store
from tests.buffer.ops_helpers import insert_bounces, message_ids
from tests.helpers import all_bounces, send, wait_for_lock_waiter
from tests.serve_process import SMSBOUNCE, ServeProcess
from tests.testenv import settings_for

DAY = 86_400 * 1_000_000
NOW = int(datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp()) * 1_000_000


@pytest.fixture
def store(db_url):
    store = Store.open(settings_for(db_url))
    yield store
    store.close()


def test_only_bounces_older_than_retention_and_every_pollable_window_go(store, db_url):
    settings = settings_for(db_url, max_window_days=5, settle_lag=60.0, db_timeout=5.0)
    ages = {"1d": 1, "4d": 4, "5d+30s": 5 * DAY + 30_000_000, "5d+2m": 5 * DAY + 120_000_000}
    rows = [(name, NOW - (age * DAY if age < DAY else age)) for name, age in ages.items()]
    insert_bounces(store, rows + [("30d", NOW - 30 * DAY)])
    done = retention.purge(store, settings, older_than_days=2, now_us=NOW)
    # Asked for 2 days, but a 5-day window shifted by the 60 s lag still reaches 5 d + 60 s back.
    assert done.kept_days == pytest.approx(5 + 60 / 86_400)
    assert done.deleted == 2
    assert message_ids(store) == {"1d", "4d", "5d+30s"}
    done = retention.purge(store, settings, older_than_days=4.5, now_us=NOW + 10 * DAY)
    assert message_ids(store) == set()


def test_purge_deletes_in_batches(store, db_url):
    insert_bounces(store, [(f"old-{n:05}", NOW - 40 * DAY + n) for n in range(2500)])
    insert_bounces(store, [("young", NOW - DAY)])
    settings = settings_for(db_url, max_window_days=7)
    done = retention.purge(store, settings, older_than_days=30, now_us=NOW, batch=1000)
    assert (done.deleted, done.batches) == (2500, 3)
    assert message_ids(store) == {"young"}


def test_purge_while_ingesting_loses_no_acknowledged_report(start_buffer, buffer_settings):
    server = start_buffer(buffer_settings)
    old = [(f"old-{n:05}", NOW - 400 * DAY + n) for n in range(3000)]
    insert_bounces(server.store, old)
    acknowledged, stop = [], threading.Event()

    def provider():
        session = requests.Session()
        n = 0
        while not stop.is_set() or n < 50:
            message_id = f"new-{n:05}"
            if send(session, server, message_id) == "stored":
                acknowledged.append(message_id)
            n += 1

    thread = threading.Thread(target=provider)
    thread.start()
    done = retention.purge(server.store, buffer_settings, older_than_days=1, batch=200)
    stop.set()
    thread.join()
    assert done.deleted == 3000 and done.batches == 16
    served = {b["messageId"] for b in all_bounces(requests, server)}
    assert served == set(acknowledged)


def _hold_update(db_url, message_id, ingested_at):
    """Replace a bounce's ingest time in a transaction left open (as a concurrent upsert)."""
    if db_url.startswith("sqlite"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        execute = connection.execute
    else:
        import psycopg

        connection = psycopg.connect(db_url)
        execute = connection.cursor().execute
    execute(
        f'UPDATE notifications SET "ingestedAt" = {ingested_at} '
        f"WHERE \"messageId\" = '{message_id}'"
    )
    return connection


def test_a_bounce_replaced_while_the_purge_waits_for_it_is_kept(store, db_url):
    insert_bounces(store, [("replaced", NOW - 40 * DAY), ("stale", NOW - 40 * DAY + 1)])
    settings = settings_for(db_url, max_window_days=7)
    holder = _hold_update(db_url, "replaced", NOW)
    result = {}
    purger = threading.Thread(
        target=lambda: result.update(
            done=retention.purge(store, settings, older_than_days=30, now_us=NOW)
        )
    )
    purger.start()
    if db_url.startswith("sqlite"):
        time.sleep(0.5)  # the purge is waiting on SQLite's write lock (busy timeout 5 s)
    else:
        wait_for_lock_waiter(db_url, "DELETE")
    holder.commit()
    holder.close()
    purger.join(timeout=30)
    assert result["done"].deleted == 1
    assert message_ids(store) == {"replaced"}


def _cli(env, *args):
    return subprocess.run(
        [SMSBOUNCE, "purge", *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_purge_command(store, db_url):
    now = time.time_ns() // 1000
    insert_bounces(
        store, [("40d", now - 40 * DAY), ("10d", now - 10 * DAY), ("1h", now - DAY // 24)]
    )
    env = {"SMSBOUNCE_DATABASE_URL": db_url, "SMSBOUNCE_MAX_WINDOW_DAYS": "7"}
    missing = _cli(env)
    assert (
        missing.returncode == 1
        and "--older-than DAYS or SMSBOUNCE_RETENTION_DAYS" in missing.stderr
    )
    done = _cli({**env, "SMSBOUNCE_RETENTION_DAYS": "30"})
    assert done.returncode == 0, done.stderr
    assert "deleted 1 bounce received" in done.stdout and "in 1 batch\n" in done.stdout
    raised = _cli(env, "--older-than", "2")
    assert raised.returncode == 0, raised.stderr
    assert "deleted 1 bounce received" in raised.stdout
    assert "not 2: a window of up to SMSBOUNCE_MAX_WINDOW_DAYS (7)" in raised.stdout
    assert message_ids(store) == {"1h"}


def test_a_schedule_needs_a_retention():
    with pytest.raises(SettingsError, match="SMSBOUNCE_PURGE_INTERVAL is set but"):
        Settings.from_env({"SMSBOUNCE_PURGE_INTERVAL": "60"})
    settings = Settings.from_env(
        {"SMSBOUNCE_PURGE_INTERVAL": "60", "SMSBOUNCE_RETENTION_DAYS": "90"}
    )
    assert (settings.purge_interval, settings.retention_days) == (60, 90)


def test_serve_purges_on_schedule(store, db_url):
    now = time.time_ns() // 1000
    insert_bounces(store, [("ancient", now - 10 * DAY)])
    env = {
        "SMSBOUNCE_DATABASE_URL": db_url,
        "SMSBOUNCE_API_PASSWORD": "strong-test-password",
        "SMSBOUNCE_MAX_WINDOW_DAYS": "1",
        "SMSBOUNCE_RETENTION_DAYS": "2",
        "SMSBOUNCE_PURGE_INTERVAL": "0.5",
    }
    with ServeProcess(env, "--workers", "1") as server:
        assert send(requests, server, "fresh") == "stored"
        deadline = time.monotonic() + 30
        while "ancient" in message_ids(store):
            assert time.monotonic() < deadline, "the scheduled purge never ran"
            time.sleep(0.1)
        assert message_ids(store) == {"fresh"}
        assert server.stop() == 0
    # Every run says what it deleted and what retention does (issue 23: never silently).
    assert any(
        '"scheduled purge: 1 bounce deleted; bounces are kept' in line for line in server.output
    )
