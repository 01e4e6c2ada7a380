"""The report intake on the event loop (``buffer.loop_intake``) answers every case exactly as the
Bottle route does: status, body, the headers that matter and the rows stored, on SQLite and
PostgreSQL.

Two buffers on two empty databases get the same requests in the same order: one answers on the
Bottle route (what the threads run), the other through ``LoopIntake`` on an event loop, the
way the bridge hands it a request. Each case says which way it must go on the second one: a
request the loop does not take (another path, an unknown provider, a body refused before the
door) is answered by the same Bottle route.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import logging
import os
from datetime import datetime
from importlib.resources import files
from urllib.parse import urlencode

import pytest

from smsbounce.buffer.app import create_app
from smsbounce.buffer.logs import ACCESS_LOGGER
from smsbounce.buffer.loop_intake import LoopIntake
from smsbounce.buffer.providers import generic
from smsbounce.buffer.request_params import MAX_BODY_BYTES
from smsbounce.buffer.store import Store
from smsbounce.plumbing.wsgi_bridge import WsgiBridge
from smsbounce.simulators.pytest_plugin import empty_database, throwaway_database
from tests.buffer.test_quarantine import JASMIN, JASMIN_RECEIPT, KANNEL, KANNEL_QUERY
from tests.helpers import INGEST, report_query, role_that_only_writes
from tests.testenv import PG_URL_VARIABLE, settings_for

TOKEN = "ingest-token-for-tests-0123456789"
INFOBIP = "/api/v1/providers/infobip/report"
QUIET = "/api/v1/providers/quiet/report"  # Jasmin's profile answering 204 (``_quiet_profile``)
GOOD = {"messageId": "ib-1", "to": "4915112345678", "status": {"groupName": "UNDELIVERABLE"}}
NO_TO = {"messageId": "ib-2", "status": {"groupName": "UNDELIVERABLE"}}
PERMANENT = "0x4500 Message 1 of the order 1000001 at destination of +4915112345678 is unknown"

# (name, method, path, query, content type, body, taken on the loop)
CASES = [
    ("bounce", "GET", f"{INGEST}/{TOKEN}", report_query(orderID="a"), "", b"", True),
    ("duplicate", "GET", f"{INGEST}/{TOKEN}", report_query(orderID="a"), "", b"", True),
    ("stale", "GET", f"{INGEST}/{TOKEN}", report_query(orderID="a", time="091500"), "", b"", True),
    (
        "stronger",
        "GET",
        f"{INGEST}/{TOKEN}",
        report_query(orderID="a", status=PERMANENT),
        "",
        b"",
        True,
    ),
    (
        "delivered",
        "GET",
        f"{INGEST}/{TOKEN}",
        report_query(orderID="b", status="0x0000 delivered"),
        "",
        b"",
        True,
    ),
    ("query token", "GET", INGEST, report_query(orderID="c") + f"&token={TOKEN}", "", b"", True),
    ("no token", "GET", INGEST, report_query(orderID="d"), "", b"", True),
    ("wrong token", "GET", f"{INGEST}/nope", report_query(orderID="e"), "", b"", True),
    ("missing field", "GET", f"{INGEST}/{TOKEN}", report_query(orderID=None), "", b"", True),
    ("di by POST", "POST", f"{INGEST}/{TOKEN}", report_query(orderID="f"), "", b"", False),
    (
        "batch",
        "POST",
        f"{INFOBIP}/{TOKEN}",
        "",
        "application/json",
        json.dumps({"results": [GOOD, NO_TO]}).encode(),
        True,
    ),
    (
        "batch again",
        "POST",
        f"{INFOBIP}/{TOKEN}",
        "",
        "application/json",
        json.dumps({"results": [GOOD, GOOD]}).encode(),
        True,
    ),
    ("bad json", "POST", f"{INFOBIP}/{TOKEN}", "", "application/json", b"{", True),
    ("media type", "POST", f"{INFOBIP}/{TOKEN}", "", "text/plain", b"x", True),
    ("quarantined", "GET", f"{KANNEL}/{TOKEN}", KANNEL_QUERY, "", b"", True),
    (
        "form",
        "POST",
        f"{JASMIN}/{TOKEN}",
        "msisdn=%2B4915112345678",
        "application/x-www-form-urlencoded",
        urlencode(JASMIN_RECEIPT).encode(),
        True,
    ),
    (
        "answered 204",
        "POST",
        f"{QUIET}/{TOKEN}",
        "msisdn=%2B4915112345678",
        "application/x-www-form-urlencoded",
        urlencode({**JASMIN_RECEIPT, "id": "quiet-1"}).encode(),
        True,
    ),
    ("unknown provider", "GET", f"/api/v1/providers/nobody/report/{TOKEN}", "", "", b"", False),
    (
        "too large",
        "POST",
        f"{INFOBIP}/{TOKEN}",
        "",
        "application/json",
        b" " * (MAX_BODY_BYTES + 1),
        False,
    ),
    ("not ingest", "GET", "/healthz", "", "", b"", False),
]


def _environ(method: str, path: str, query: str, content_type: str, body: bytes) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_X_REQUEST_ID": "req-1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if method == "POST":
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = content_type
    return environ


class _Buffer:
    def __init__(self, url: str, tmp_path, name: str, **overrides):
        settings = settings_for(
            url,
            ingest_tokens=(TOKEN,),
            metrics_dir=str(tmp_path / name),
            **overrides,
        )
        os.makedirs(settings.metrics_dir, exist_ok=True)
        self.store = Store.open(settings)
        self.app = create_app(settings, self.store)
        self.bridge = WsgiBridge(self.app, threads=1, body_timeout=5, max_body=MAX_BODY_BYTES)
        self.loop_intake = LoopIntake(self.app, self.store, settings)

    def rows(self) -> tuple[list, list]:
        model = self.store._model
        bounces = [
            {k: v for k, v in row.items() if k != "ingested_at"}
            for row in model.select().order_by(model.message_id).dicts()
        ]
        held = [
            (e.provider, e.message_id, e.type, e.parameter, e.raw_request)
            for e in self.store.quarantine.entries()
        ]
        return bounces, held


def _answer(answer) -> tuple[int, dict, object]:
    status, headers, body = answer
    kept = {k.lower(): v for k, v in headers if k.lower() not in ("date",)}
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = body
    return status, kept, parsed


@pytest.fixture
def second_url(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        yield empty_database(f"sqlite:///{tmp_path / 'second.db'}")
        return
    with throwaway_database(os.environ[PG_URL_VARIABLE]) as url:
        yield empty_database(url)


@pytest.fixture
def event_loop_of_test():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _access_line(caplog) -> dict:
    """The fields of the last access line, but its duration."""
    record = [r for r in caplog.records if r.name == ACCESS_LOGGER][-1]
    return {"message": record.getMessage(), **record.fields, "duration_ms": None}


def _counts(buffer) -> dict:
    """Every counter the app's metrics hold (the latency histogram times, the others count)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in buffer.app.metrics.registry.collect()
        if metric.type == "counter"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


def _quiet_profile(tmp_path) -> str:
    """Jasmin's built-in profile, named ``quiet``, answering 204 without a body."""
    source = files("smsbounce.buffer.providers") / "profiles" / "jasmin.json"
    document = {**json.loads(source.read_text()), "name": "quiet"}
    document["answer"] = {"status": 204, "contentType": "text/plain", "body": ""}
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps(document))
    return str(path)


class _Frozen(datetime):
    """A report without a time of its own is stamped with its arrival: one arrival for every
    case, so that the two buffers' answers do not differ by the second a case fell in."""

    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 12, 7, 12, 0, 0, tzinfo=tz)


def test_the_loop_and_the_bottle_route_answer_every_case_alike(
    db_url, second_url, tmp_path, event_loop_of_test, caplog, monkeypatch
):
    """Status, headers, body, rows, access line and metrics."""
    monkeypatch.setattr(generic, "datetime", _Frozen)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    loop = event_loop_of_test
    quiet = (_quiet_profile(tmp_path),)
    bottle = _Buffer(db_url, tmp_path, "bottle", provider_files=quiet)
    on_loop = _Buffer(second_url, tmp_path, "loop", provider_files=quiet)
    try:
        for name, method, path, query, kind, body, taken_on_loop in CASES:
            expected = _answer(bottle.bridge._call(_environ(method, path, query, kind, body)))
            expected_line = _access_line(caplog)
            environ = _environ(method, path, query, kind, body)
            answer = loop.run_until_complete(on_loop.loop_intake(environ, on_loop.bridge._call))
            assert (answer is not None) == taken_on_loop, name
            got = _answer(answer if answer is not None else on_loop.bridge._call(environ))
            assert got == expected, name
            assert _access_line(caplog) == expected_line, name
            assert on_loop.rows() == bottle.rows(), name
        assert bottle.rows()[0] and bottle.rows()[1]  # the cases did store and quarantine
        stamped = {row["message_id"]: row["timestamp"] for row in bottle.rows()[0]}
        assert stamped["ib-1"] == "20261207120000"  # the one arrival (_Frozen)
        assert _counts(on_loop) == _counts(bottle)
        counted = {name for name, _ in _counts(bottle)}
        assert {"smsbounce_reports_stored_total", "smsbounce_http_responses_total"} <= counted
    finally:
        loop.run_until_complete(on_loop.loop_intake.close())
        for buffer in (bottle, on_loop):
            buffer.store.close()


@pytest.mark.parametrize(
    "unreachable",
    ["sqlite:////nonexistent-directory/buffer.db", "postgresql://postgres@127.0.0.1:1/none"],
)
def test_nothing_stored_is_503_with_retry_after_on_both(unreachable, tmp_path):
    loop = asyncio.new_event_loop()
    bottle = _Buffer(unreachable, tmp_path, "bottle", db_timeout=1.0)
    on_loop = _Buffer(unreachable, tmp_path, "loop", db_timeout=1.0)
    try:
        request = ("GET", f"{INGEST}/{TOKEN}", report_query(orderID="x"), "", b"")
        expected = _answer(bottle.bridge._call(_environ(*request)))
        answer = loop.run_until_complete(
            on_loop.loop_intake(_environ(*request), on_loop.bridge._call)
        )
        got = _answer(answer)
        assert expected[0] == got[0] == 503
        assert expected[1] == got[1] and "retry-after" in got[1]
        # The driver's own words may differ; what the answer says of the request may not.
        for body in (expected[2], got[2]):
            body["error"].pop("message")
        assert expected[2] == got[2]
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(on_loop.loop_intake.close())
        loop.close()
        for buffer in (bottle, on_loop):
            with contextlib.suppress(Exception):
                buffer.store.close()


def test_a_batch_of_requests_on_the_loop_is_one_transaction(postgres_url, tmp_path):
    """Reports arriving together are written together: one batch for all of them."""
    loop = asyncio.new_event_loop()
    buffer = _Buffer(postgres_url, tmp_path, "loop")
    batches = []
    buffer.store.observe_batches(batches.append)
    try:

        async def many():
            requests = [
                buffer.loop_intake(
                    _environ("GET", f"{INGEST}/{TOKEN}", report_query(orderID=f"m{i}"), "", b""),
                    buffer.bridge._call,
                )
                for i in range(20)
            ]
            return await asyncio.gather(*requests)

        answers = loop.run_until_complete(many())
        assert [a[0] for a in answers] == [200] * 20
        assert sum(batches) == 20 and len(batches) <= 2, batches
        assert len(buffer.rows()[0]) == 20
    finally:
        loop.run_until_complete(buffer.loop_intake.close())
        loop.close()
        buffer.store.close()


def test_settings_can_turn_it_off():
    from smsbounce.buffer.settings import Settings

    assert Settings.from_env({}).loop_intake is True
    assert Settings.from_env({"SMSBOUNCE_LOOP_INTAKE": "0"}).loop_intake is False
    assert dataclasses.replace(Settings(), loop_intake=False).loop_intake is False


def test_a_report_no_batch_took_within_the_timeout_is_answered_503():
    """A batch that hangs holds its own reports (its transaction is bounded by the same
    timeout); a report queued behind it is answered 503 once the timeout has passed."""
    from smsbounce.buffer.errors import DatabaseUnavailable
    from smsbounce.buffer.loop_intake import LoopGroupCommit

    async def slow_write(jobs):
        await asyncio.sleep(0.6)
        return ["written"] * len(jobs)

    async def two():
        batches = LoopGroupCommit(
            slow_write, batch_size=1, batch_wait=0, timeout=0.2, on_batch=lambda rows: None
        )
        first = asyncio.ensure_future(batches.submit("first", 1))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(batches.submit("second", 1))
        done = await asyncio.gather(first, second, return_exceptions=True)
        return done, batches.pending

    loop = asyncio.new_event_loop()
    try:
        (first, second), pending = loop.run_until_complete(two())
    finally:
        loop.close()
    assert first == "written"
    assert isinstance(second, DatabaseUnavailable) and "SMSBOUNCE_DB_TIMEOUT" in str(second)
    assert pending == 0


def test_a_request_cancelled_while_its_batch_is_written_leaves_the_others_answered():
    """Its client gone, a request's task may be cancelled while its report is in a batch being
    written: the other reports of that batch get their answers, and batches go on."""
    from smsbounce.buffer.loop_intake import LoopGroupCommit

    async def slow_write(jobs):
        await asyncio.sleep(0.05)
        return [f"written {job.payload}" for job in jobs]

    async def three_then_one():
        batches = LoopGroupCommit(
            slow_write, batch_size=10, batch_wait=0, timeout=1.0, on_batch=lambda rows: None
        )
        tasks = [asyncio.ensure_future(batches.submit(n, 1)) for n in range(3)]
        await asyncio.sleep(0.01)  # the batch of the three is being written
        tasks[1].cancel()
        done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        later = await asyncio.wait_for(batches.submit(3, 1), 5)
        return done, later

    loop = asyncio.new_event_loop()
    try:
        done, later = loop.run_until_complete(three_then_one())
    finally:
        loop.close()
    assert done[0] == "written 0" and done[2] == "written 2"
    assert isinstance(done[1], asyncio.CancelledError)
    assert later == "written 3"


def test_the_read_of_reports_left_alone_failing_answers_them_duplicates(caplog):
    """The batch is committed before that read: its failure must not turn into a 503."""
    from smsbounce.buffer.loop_intake import PostgresWriter

    unreachable = "postgresql://postgres@127.0.0.1:1/none"
    store = Store.open(settings_for(unreachable))  # opens no connection until used
    writer = PostgresWriter(unreachable, store.upsert, 1.0, "nowhere")
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(writer._kept(["m1"])) == {}
    finally:
        loop.close()
    assert "answered as duplicates" in caplog.text


def _store_on_the_loop(loop, buffer, *order_ids: str) -> list[int]:
    """Each report sent through the loop's intake as one request; the statuses answered."""

    async def send():
        return await asyncio.gather(
            *(
                buffer.loop_intake(
                    _environ("GET", f"{INGEST}/{TOKEN}", report_query(orderID=i), "", b""),
                    buffer.bridge._call,
                )
                for i in order_ids
            )
        )

    return [answer[0] for answer in loop.run_until_complete(send())]


def _functions(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT proname FROM pg_proc WHERE proname LIKE 'smsbounce_upsert_%'"
        )
        return [name for (name,) in found]


def test_the_batches_call_the_upsert_as_a_function_made_once_and_again_if_dropped(
    postgres_url, tmp_path, caplog
):
    """The loop's batches call the statement as a function, created by the first connection;
    one dropped under a running worker is created again, and no report is refused for it."""
    import psycopg

    buffer = _Buffer(postgres_url, tmp_path, "loop")
    name = buffer.store.upsert.statement().function.name
    loop = asyncio.new_event_loop()
    try:
        assert _store_on_the_loop(loop, buffer, "f1", "f2") == [200, 200]
        assert _functions(postgres_url) == [name]
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP FUNCTION {name}(jsonb)")
        assert _store_on_the_loop(loop, buffer, "f3") == [200]  # on the same connection
        assert _functions(postgres_url) == [name]
        stored = [row["message_id"] for row in buffer.rows()[0]]
        assert stored == ["f1", "f2", "f3"]
        assert "cannot create" not in caplog.text
    finally:
        loop.run_until_complete(buffer.loop_intake.close())
        loop.close()
        buffer.store.close()


@pytest.fixture
def role_without_create(postgres_url):
    """A role that may write the buffer's tables but create nothing, on a database without the
    upsert's function (one an earlier test's buffer made is dropped)."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        for name in _functions(postgres_url):
            admin.execute(f"DROP FUNCTION {name}(jsonb)")
    with role_that_only_writes(postgres_url) as url:
        yield url


def test_a_role_that_may_not_create_the_function_still_stores_every_report(
    role_without_create, postgres_url, tmp_path, caplog
):
    buffer = _Buffer(role_without_create, tmp_path, "loop")
    loop = asyncio.new_event_loop()
    try:
        assert _store_on_the_loop(loop, buffer, "r1", "r2") == [200, 200]
        assert [row["message_id"] for row in buffer.rows()[0]] == ["r1", "r2"]
        assert _functions(postgres_url) == []
        assert "the batches send the upsert's statement itself: cannot create" in caplog.text
        assert "permission denied" in caplog.text
    finally:
        loop.run_until_complete(buffer.loop_intake.close())
        loop.close()
        buffer.store.close()


def test_the_writers_queries_bind_quote_and_fail_as_psycopgs_cursor_would(postgres_url):
    """The writer sends its queries through psycopg's libpq layer: values quoted by psycopg,
    every statement's rows read, and a failed statement raised as psycopg's cursor raises it
    (a data error is what one job carried, ``LoopGroupCommit`` retries each alone), after the
    rest was read: the connection answers the next query."""
    import psycopg

    from smsbounce.buffer.loop_intake import PostgresWriter

    store = Store.open(settings_for(postgres_url))
    writer = PostgresWriter(postgres_url, store.upsert, 5.0, "here")
    tricky = "it's 100% \\ ünïcode; %s"

    async def run(sql, params):
        return await writer._send(lambda: (sql, params))

    loop = asyncio.new_event_loop()
    try:
        found = loop.run_until_complete(
            run(
                "SET LOCAL lock_timeout = 100; SELECT %s::text, NULL::text; SELECT %s",
                [tricky, ["a", "b"]],
            )
        )
        assert found == [[(tricky, None)], [("{a,b}",)]]
        with pytest.raises(psycopg.DataError):
            loop.run_until_complete(run("SELECT 1; SELECT %s::int; SELECT 2", ["nine"]))
        assert loop.run_until_complete(run("SELECT %s::int + 1", [41])) == [[("42",)]]
    finally:
        loop.run_until_complete(writer.close())
        loop.close()
        store.close()


def test_smsbounce_migrate_makes_the_function_for_a_role_that_may_not(
    role_without_create, postgres_url, tmp_path, caplog
):
    """The role that migrates creates the function (``smsbounce migrate``), so a buffer whose
    own role may only write calls it too; that role's own migrate says why it made none."""
    from click.testing import CliRunner

    from smsbounce.buffer.admin import migrate

    as_writer = CliRunner().invoke(migrate, ["--database-url", role_without_create])
    assert as_writer.exit_code == 0, as_writer.output
    assert "the upsert's function was not created (permission denied" in as_writer.output
    assert _functions(postgres_url) == []

    as_owner = CliRunner().invoke(migrate, ["--database-url", postgres_url])
    assert as_owner.exit_code == 0, as_owner.output
    (name,) = _functions(postgres_url)
    assert f"upsert function {name} in place" in as_owner.output

    buffer = _Buffer(role_without_create, tmp_path, "loop")
    loop = asyncio.new_event_loop()
    try:
        assert _store_on_the_loop(loop, buffer, "w1") == [200]
        assert [row["message_id"] for row in buffer.rows()[0]] == ["w1"]
        assert "cannot create" not in caplog.text
    finally:
        loop.run_until_complete(buffer.loop_intake.close())
        loop.close()
        buffer.store.close()


def test_connections_making_the_function_at_once_all_succeed(postgres_url):
    """Workers and ``smsbounce migrate`` may create the function at the same moment: each
    finds it made, none fails (PostgreSQL's unique index on functions refuses all but one)."""
    import threading

    import psycopg

    store = Store.open(settings_for(postgres_url))
    function = store.upsert.statement().function
    store.close()
    failures = []
    for _ in range(10):
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP FUNCTION IF EXISTS {function.name}(jsonb)")
        connections = [psycopg.connect(postgres_url, autocommit=True) for _ in range(6)]
        together = threading.Barrier(len(connections))

        def ensure(connection):
            together.wait()
            try:
                connection.execute(function.ensure_sql)
            except psycopg.Error as exc:  # collected: asserted below
                failures.append(exc)

        threads = [threading.Thread(target=ensure, args=(c,)) for c in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for connection in connections:
            connection.close()
    assert failures == []
    assert _functions(postgres_url) == [function.name]
