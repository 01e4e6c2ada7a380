"""Group commit (buffer/group_commit.py): the reports that arrive together are stored in one
transaction, each answered only after its commit; a failure answers 503 to the whole batch and
stores none of it; repeated messages end as if sent one after the other; every wait is bounded
by SMSBOUNCE_DB_TIMEOUT; closing finishes what is queued. On SQLite and PostgreSQL.

Batches are made deterministic without timing: the test holds the table's write lock, so the
writer's first batch waits in the database, and the test watches the reports queue behind it
(``Store.writes_pending``) before it lets go.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

import pytest
import requests
from peewee import IntegrityError

from smsbounce.buffer import backends, db
from smsbounce.buffer.reports import Outcome, Report, Result
from smsbounce.buffer.settings import Settings, SettingsError
from smsbounce.buffer.store import Store
from tests.buffer.ops_helpers import message_ids, scrape, value
from tests.helpers import all_bounces, assert_json_error, hold_write_lock, report_query
from tests.testenv import settings_for

TEMPORARY, PERMANENT = "0xDBF3 retrying", "0x4503 out of coverage"
# A Kannel receipt naming a sender id where the recipient belongs: quarantined (issue 11).
KANNEL = (
    "/api/v1/providers/kannel/report?id=K-7&to=ACME&type=2&reply=id%3A0000000b+sub%3A001+dlvrd"
    "%3A000+submit+date%3A2612011725+done+date%3A2612011725+stat%3AUNDELIV+err%3A001&ts=1796145956"
)


def wait_until(condition, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        threading.Event().wait(0.01)


def committed(db_url: str, message_id: str) -> bool:
    """Whether another connection sees the bounce: it has been committed."""
    if db_url.startswith("sqlite"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        sql = 'SELECT 1 FROM notifications WHERE "messageId" = ?'
    else:
        import psycopg

        connection = psycopg.connect(db_url)
        sql = 'SELECT 1 FROM notifications WHERE "messageId" = %s'
    try:
        cursor = connection.cursor()
        cursor.execute(sql, (message_id,))
        return cursor.fetchone() is not None
    finally:
        connection.close()


class Senders:
    """Requests sent each from a thread of its own, in a known order: the next one is sent
    only once the one before waits in the writer's queue (or in the batch being written)."""

    def __init__(self, server, db_url: str):
        self.server, self.db_url = server, db_url
        self.threads: list[threading.Thread] = []
        self.answers: dict[int, tuple[requests.Response, bool]] = {}

    def send(self, path_and_query: str, message_id: str | None = None) -> None:
        index = len(self.threads)
        before = sum(self.server.store.writes_pending)

        def run():
            response = requests.get(self.server.url + path_and_query, timeout=60)
            # Checked the moment the answer arrives: an acknowledged report is committed.
            seen = message_id is None or committed(self.db_url, message_id)
            self.answers[index] = (response, seen)

        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)
        wait_until(lambda: sum(self.server.store.writes_pending) == before + 1, "queued")

    def report(self, message_id: str, **fields) -> None:
        query = report_query(orderID=message_id, date="01032026", **fields)
        self.send(f"/api/v1/notifications/set?{query}", message_id)

    def finish(self) -> list[tuple[requests.Response, bool]]:
        for thread in self.threads:
            thread.join(timeout=60)
        return [self.answers[index] for index in range(len(self.threads))]


def batches(server) -> tuple[float, float]:
    """(transactions, reports in them) from /metrics."""
    samples = scrape(server)
    return (
        value(samples, "smsbounce_store_batch_reports_count"),
        value(samples, "smsbounce_store_batch_reports_sum"),
    )


def test_reports_arriving_together_share_one_commit_and_are_answered_after_it(start_buffer, db_url):
    server = start_buffer(settings_for(db_url))
    release = hold_write_lock(db_url)
    senders = Senders(server, db_url)
    try:
        senders.report("first")  # the writer's batch now waits for the lock
        wait_until(lambda: server.store.writes_pending == (0, 1), "the first batch is written")
        for message_id in ("a", "b", "c"):
            senders.report(message_id)
        assert server.store.writes_pending == (3, 1)
        assert all(thread.is_alive() for thread in senders.threads), "answered before commit"
    finally:
        release()
    answers = senders.finish()
    assert [(r.status_code, r.json()["result"], seen) for r, seen in answers] == [
        (200, "stored", True)
    ] * 4
    assert batches(server) == (2, 4)  # [first], then [a, b, c] in one transaction
    assert sorted(b["messageId"] for b in all_bounces(requests, server)) == ["a", "b", "c", "first"]


@pytest.fixture
def quarantine_fails(db_url):
    """Every insert into the quarantine fails inside the database, as a full disk would: in a
    batch it comes after the batch's bounces were upserted. Returns the function that ends it."""
    if db_url.startswith("sqlite"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON quarantine BEGIN SELECT json('no disk'); END"
        )
        drop = "DROP TRIGGER fail"
    else:
        import psycopg

        connection = psycopg.connect(db_url, autocommit=True)
        connection.cursor().execute(
            "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'no disk' USING ERRCODE = 'io_error'; END $$; "
            "CREATE TRIGGER fail BEFORE INSERT ON quarantine "
            "FOR EACH ROW EXECUTE FUNCTION fail()"
        )
        drop = "DROP TRIGGER fail ON quarantine; DROP FUNCTION fail()"

    def end():
        connection.cursor().execute(drop)
        connection.close()

    return end


def test_a_failure_mid_batch_answers_503_to_all_of_it_and_stores_none(
    start_buffer, db_url, quarantine_fails
):
    server = start_buffer(settings_for(db_url))
    release = hold_write_lock(db_url)
    senders = Senders(server, db_url)
    try:
        senders.report("alone")
        wait_until(lambda: server.store.writes_pending == (0, 1), "the first batch is written")
        senders.report("a")
        senders.report("b")
        senders.send(KANNEL)  # quarantined: its insert fails after a and b were upserted
    finally:
        release()
    alone, *batch = senders.finish()
    assert alone[0].json()["result"] == "stored"
    for response, _ in batch:
        assert_json_error(response, 503)
    assert batches(server) == (1, 1)
    assert message_ids(server.store) == {"alone"}
    assert server.store.quarantine.entries() == []

    quarantine_fails()  # the database is back: the providers' retries are stored
    for message_id in ("a", "b"):
        query = report_query(orderID=message_id, date="01032026")
        response = requests.get(f"{server.url}/api/v1/notifications/set?{query}", timeout=30)
        assert response.json()["result"] == "stored"
    assert requests.get(server.url + KANNEL, timeout=30).json()["result"] == "quarantined"


SEQUENCE = [  # (message, status, event time): what each report finds and does
    ("m", TEMPORARY, "100000"),  # new: stored
    ("n", PERMANENT, "100000"),  # new: stored
    ("m", PERMANENT, "100500"),  # stronger: stored
    ("m", TEMPORARY, "100000"),  # weaker: stale
    ("m", PERMANENT, "100500"),  # the same again: duplicate
    ("n", PERMANENT, "100000"),  # duplicate
    ("m", PERMANENT, "110000"),  # as strong and later: stored
]


def test_one_message_repeated_in_a_batch_ends_as_if_sent_one_after_the_other(start_buffer, db_url):
    server = start_buffer(settings_for(db_url))

    def ignored():
        samples = scrape(server)
        return [
            value(samples, "smsbounce_reports_ignored_total", provider="di", reason=reason)
            for reason in ("duplicate", "stale")
        ]

    def final(prefix):
        rows = [b for b in all_bounces(requests, server) if b["messageId"].startswith(prefix)]
        return sorted((b["messageId"][len(prefix) :], b["type"], b["timestamp"]) for b in rows)

    one_by_one = []
    for message_id, status, time_ in SEQUENCE:
        query = report_query(
            orderID="seq-" + message_id, status=status, time=time_, date="01032026"
        )
        one_by_one.append(requests.get(f"{server.url}/api/v1/notifications/set?{query}").json())
    ignored_one_by_one = ignored()

    release = hold_write_lock(db_url)
    senders = Senders(server, db_url)
    try:
        senders.report("x")
        wait_until(lambda: server.store.writes_pending == (0, 1), "the first batch is written")
        for message_id, status, time_ in SEQUENCE:
            senders.report("bat-" + message_id, status=status, time=time_)
    finally:
        release()
    _, *answers = senders.finish()
    transactions, reports = batches(server)
    assert (transactions, reports) == (len(SEQUENCE) + 2, 2 * len(SEQUENCE) + 1)  # one batch

    assert [r.json()["result"] for r, _ in answers] == [a["result"] for a in one_by_one]
    assert [r.json()["result"] for r, _ in answers] == ["stored"] * 3 + ["ignored"] * 3 + ["stored"]
    assert (
        final("bat-")
        == final("seq-")
        == [
            ("m", "Permanent", "20260301110000"),
            ("n", "Permanent", "20260301100000"),
        ]
    )
    # duplicate and stale told apart the same way (counted once each way).
    assert ignored() == [2 * n for n in ignored_one_by_one] == [4, 2]


def test_a_waiter_that_outlasts_the_db_timeout_gets_503(start_buffer, db_url):
    server = start_buffer(settings_for(db_url, db_timeout=1.0))
    release = hold_write_lock(db_url)
    senders = Senders(server, db_url)
    try:
        started = time.monotonic()
        senders.report("in-the-batch")
        wait_until(lambda: server.store.writes_pending[1] == 1, "the first batch is written")
        senders.report("queued-behind-it")
        answers = senders.finish()
        assert time.monotonic() - started < 10, "a waiter must not outlast its timeout"
    finally:
        release()
    for response, _ in answers:
        assert_json_error(response, 503)
    # Whatever got written before the timeout, the provider's retries store each report once
    # (on a loaded machine a retry may itself outlast the short timeout: it is retried too).
    for message_id in ("in-the-batch", "queued-behind-it"):
        query = report_query(orderID=message_id, date="01032026")
        for _ in range(10):
            response = requests.get(f"{server.url}/api/v1/notifications/set?{query}", timeout=30)
            if response.status_code != 503:
                break
        assert response.status_code == 200
    bounces = all_bounces(requests, server)
    assert sorted(b["messageId"] for b in bounces) == ["in-the-batch", "queued-behind-it"]


def bounce(message_id: str, status_code: str | None = "0x4503") -> Report:
    return Report(
        message_id,
        "+4915112345678",
        status_code,
        "out of coverage",
        Outcome.PERMANENT,
        "20260301100000",
    )


@pytest.fixture
def store(db_url):
    store = Store.open(settings_for(db_url))
    yield store
    store.close()


def save_in_thread(store, report, results):
    def run():
        try:
            results[report.message_id] = store.save(report, provider="di", raw=None)
        except Exception as exc:  # noqa: BLE001 - what the caller would see
            results[report.message_id] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_close_finishes_the_queued_work_first(store, db_url):
    results, threads = {}, []
    release = hold_write_lock(db_url)
    try:
        threads.append(save_in_thread(store, bounce("first"), results))
        wait_until(lambda: store.writes_pending == (0, 1), "the first batch is written")
        threads += [save_in_thread(store, bounce(m), results) for m in ("a", "b")]
        wait_until(lambda: store.writes_pending == (2, 1), "two queued")
        closing = threading.Thread(target=store.close)
        closing.start()
    finally:
        release()
    closing.join(timeout=30)
    assert not closing.is_alive()
    assert store.writes_pending == (0, 0)
    for thread in threads:  # each writes its result after its save returned
        thread.join(timeout=30)
    assert all(not thread.is_alive() for thread in threads)
    assert results == {"first": Result.STORED, "a": Result.STORED, "b": Result.STORED}
    assert message_ids(store) == {"first", "a", "b"}
    assert store.save(bounce("after-close"), provider="di") is Result.STORED  # usable again


def test_a_report_the_schema_refuses_fails_alone_not_its_batch(store, db_url):
    results = {}
    release = hold_write_lock(db_url)
    try:
        threads = [save_in_thread(store, bounce("first"), results)]
        wait_until(lambda: store.writes_pending == (0, 1), "the first batch is written")
        for report in (bounce("a"), bounce("no-code", status_code=None), bounce("b")):
            threads.append(save_in_thread(store, report, results))
            wait_until(lambda n=len(threads): sum(store.writes_pending) == n, "queued")
    finally:
        release()
    for thread in threads:
        thread.join(timeout=30)
    assert isinstance(results.pop("no-code"), IntegrityError)  # a 500, as it was before
    assert results == {"first": Result.STORED, "a": Result.STORED, "b": Result.STORED}
    assert message_ids(store) == {"first", "a", "b"}


def test_batch_settings_are_read_and_checked():
    settings = Settings.from_env({})
    assert (settings.batch_size, settings.batch_wait) == (64, 0.0)
    settings = Settings.from_env({"SMSBOUNCE_BATCH_SIZE": "1", "SMSBOUNCE_BATCH_WAIT": "0.002"})
    assert (settings.batch_size, settings.batch_wait) == (1, 0.002)
    for env, sentence in [
        ({"SMSBOUNCE_BATCH_SIZE": "0"}, "SMSBOUNCE_BATCH_SIZE must be between 1 and 1000"),
        ({"SMSBOUNCE_BATCH_WAIT": "2"}, "SMSBOUNCE_BATCH_WAIT must be between 0 and 1"),
        (
            {"SMSBOUNCE_BATCH_WAIT": "0.5", "SMSBOUNCE_DB_TIMEOUT": "0.5"},
            "SMSBOUNCE_BATCH_WAIT (0.5 s) must be shorter than SMSBOUNCE_DB_TIMEOUT",
        ),
    ]:
        with pytest.raises(SettingsError) as caught:
            Settings.from_env(env)
        assert sentence in str(caught.value)


def test_sqlite_writers_take_turns_on_the_writers_lock(sqlite_url):
    # What another worker holds while it writes: a write here waits for it, then goes at once.
    store = Store.open(settings_for(sqlite_url))
    lock = os.open(sqlite_url.removeprefix("sqlite:///") + "-writers.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = {}
        thread = save_in_thread(store, bounce("waits-its-turn"), results)
        thread.join(timeout=0.5)
        assert thread.is_alive() and not results, "the write did not wait for the writers' lock"
        fcntl.flock(lock, fcntl.LOCK_UN)
        thread.join(timeout=15)
        assert results == {"waits-its-turn": Result.STORED}
        assert message_ids(store) == {"waits-its-turn"}
    finally:
        os.close(lock)
        store.close()


def test_threads_of_one_process_take_turns_too(sqlite_url):
    """``flock`` excludes processes; threads share its descriptor. A second thread's write
    waits for the first one's turn to end (not in SQLite's busy handler, which polls with sleeps
    of up to 100 ms), and a write within a thread's own transaction is not made to wait."""
    store = Store.open(settings_for(sqlite_url))
    holding, release = threading.Event(), threading.Event()

    def hold_a_write():
        # The second is nested: it has its turn already.
        with db.session(store.database, write=True), db.session(store.database, write=True):
            holding.set()
            release.wait(timeout=15)

    holder = threading.Thread(target=hold_a_write)
    holder.start()
    try:
        assert holding.wait(timeout=15)
        lock = os.open(sqlite_url.removeprefix("sqlite:///") + "-writers.lock", os.O_RDWR)
        try:  # the process holds the writers' lock while one of its threads writes
            with pytest.raises(BlockingIOError):
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(lock)
        waiting = backends._turns[(sqlite_url.removeprefix("sqlite:///"), os.getpid())][1]
        results = {}
        thread = save_in_thread(store, bounce("waits-for-the-thread"), results)
        thread.join(timeout=0.5)
        assert thread.is_alive() and not results
        assert waiting.locked()
        release.set()
        thread.join(timeout=15)
        assert results == {"waits-for-the-thread": Result.STORED}
    finally:
        release.set()
        holder.join(timeout=15)
        store.close()
