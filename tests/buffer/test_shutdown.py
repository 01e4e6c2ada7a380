"""Graceful shutdown: SIGTERM while a report waits for the database (a lock held by the test):
the request finishes, is acknowledged and stored, then ``smsbounce serve`` exits 0."""

import signal
import threading
import time

import requests

from smsbounce.buffer.store import Store
from tests.buffer.ops_helpers import message_ids
from tests.helpers import REPORTS_WRITE, hold_write_lock, report_query, wait_for_lock_waiter
from tests.serve_process import ServeProcess
from tests.testenv import settings_for


def test_sigterm_lets_the_report_in_flight_finish_and_be_stored(db_url):
    env = {
        "SMSBOUNCE_DATABASE_URL": db_url,
        "SMSBOUNCE_API_PASSWORD": "strong-test-password",
        "SMSBOUNCE_DB_TIMEOUT": "20",
        "SMSBOUNCE_SETTLE_LAG": "30",
    }
    with ServeProcess(env, "--workers", "1") as server:
        release = hold_write_lock(db_url)
        answer = {}

        def provider():
            url = f"{server.url}/api/v1/notifications/set?{report_query(orderID='in-flight')}"
            answer["response"] = requests.get(url, timeout=60)

        thread = threading.Thread(target=provider)
        thread.start()
        try:
            if db_url.startswith("sqlite"):
                time.sleep(1.0)  # no waiter to see: the request is long in the busy handler
            else:
                wait_for_lock_waiter(db_url, *REPORTS_WRITE)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert server.process.poll() is None, "the server must wait for the request in flight"
            assert thread.is_alive()
        finally:
            release()
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
    assert "Shutting down granian" in output


def test_sigterm_right_after_the_start_stops_every_worker_at_once(tmp_path):
    # The moment "listening on" is printed one worker answers; another may still be starting,
    # before it has a handler of its own for SIGTERM (granian would lose the signal there and
    # wait out its 30 s kill timeout).
    env = {
        "SMSBOUNCE_DATABASE_URL": f"sqlite:///{tmp_path / 'buffer.db'}",
        "SMSBOUNCE_API_PASSWORD": "configured-secret-long-enough",
    }
    for _ in range(5):
        with ServeProcess(env, "--workers", "2") as server:
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=10) == 0
