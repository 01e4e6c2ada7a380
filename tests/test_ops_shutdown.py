"""Graceful shutdown: SIGTERM while a report waits for the database (a lock held by the test):
the request finishes, is acknowledged and stored, then ``smsbounce serve`` exits 0."""

import signal
import sqlite3
import threading
import time

import requests

from buffer.store import Store
from tests.conftest import settings_for
from tests.helpers import report_query
from tests.ops_helpers import message_ids
from tests.serve_process import ServeProcess


def _hold_write_lock(db_url):
    """Block every writer until released: the buffer's write waits, it does not fail."""
    if db_url.startswith("sqlite"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        return connection, lambda: connection.execute("ROLLBACK")
    import psycopg2

    connection = psycopg2.connect(db_url)
    connection.cursor().execute("LOCK TABLE notifications IN EXCLUSIVE MODE")
    return connection, connection.rollback


def _wait_until_the_write_waits(db_url):
    if db_url.startswith("sqlite"):
        time.sleep(1.0)  # SQLite shows no waiters; the request is long in the busy handler by now
        return
    import psycopg2

    watcher = psycopg2.connect(db_url)
    watcher.autocommit = True  # pg_stat_activity is a snapshot per transaction
    try:
        with watcher.cursor() as cursor:
            for _ in range(400):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database() AND query LIKE 'INSERT%'"
                )
                if cursor.fetchone()[0]:
                    return
                time.sleep(0.025)
    finally:
        watcher.close()
    raise AssertionError("the report never reached the database")


def test_sigterm_lets_the_report_in_flight_finish_and_be_stored(db_url):
    env = {
        "SMSBOUNCE_DATABASE_URL": db_url,
        "SMSBOUNCE_API_PASSWORD": "pw",
        "SMSBOUNCE_DB_TIMEOUT": "20",
        "SMSBOUNCE_SETTLE_LAG": "30",
    }
    with ServeProcess(env, "--workers", "1") as server:
        connection, release = _hold_write_lock(db_url)
        answer = {}

        def provider():
            url = f"{server.url}/api/v1/notifications/set?{report_query(orderID='in-flight')}"
            answer["response"] = requests.get(url, timeout=60)

        thread = threading.Thread(target=provider)
        thread.start()
        try:
            _wait_until_the_write_waits(db_url)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert server.process.poll() is None, "the server must wait for the request in flight"
            assert thread.is_alive()
        finally:
            release()
            connection.close()
        thread.join(timeout=30)
        assert answer["response"].status_code == 200
        assert answer["response"].json()["result"] == "stored"
        assert server.process.wait(timeout=30) == 0
    store = Store.open(settings_for(db_url))
    try:
        assert message_ids(store) == {"in-flight"}
    finally:
        store.close()
    output = "".join(server.output)
    assert "Handling signal: term" in output
