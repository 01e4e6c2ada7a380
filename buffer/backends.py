"""SQLite and PostgreSQL side by side: every difference between the two lives here.

A backend opens its database from a URL (pragmas, pool), runs a unit of work (locks,
timeouts), caps a statement at what is left of its transaction's time, names its clock if it
has one to share, and runs an upsert its own way. ``db`` picks the backend of a database;
nothing else asks which database it talks to.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from functools import cache

from peewee import SQL, BigIntegerField, Database, OperationalError, fn
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from smsbounce.plumbing.jsontext import dumps

# What the rows an upsert left alone hold now: {message id: (type, timestamp)}.
Kept = dict[str, tuple[str, str]]


class UnsupportedDatabaseUrl(ValueError):
    pass


class SQLite:
    name = "SQLite"
    # One host holds the file, so its clock is the one clock (docs/spec.md §4): none to share.
    clock_sql = read_clock_sql = None

    def connect(self, url: str, timeout: float, pool: dict) -> Database:
        return _SQLitePool(
            **parse_url(url),
            pragmas={
                # WAL lets polls read while a report commits; FULL fsyncs every commit, so an
                # acknowledged report survives a power cut.
                "journal_mode": "wal",
                "synchronous": "full",
                "busy_timeout": int(timeout * 1000),
            },
            check_same_thread=False,
            busy_s=timeout,
            **pool,
        )

    @contextmanager
    def transaction(self, database: Database, write: bool):
        """A write takes the write lock up front (BEGIN IMMEDIATE) instead of upgrading a read
        lock mid-transaction, which is what produces "database is locked" under concurrency."""
        if not write:
            yield
            return
        with _writers_turn(database), database.atomic(lock_type="IMMEDIATE"):
            yield

    def cap(self, left: float) -> str:
        return ""  # under the write lock a statement waits for nothing but the disk

    def where(self, database: Database) -> str:
        """The database, as an operator finds it: the file's absolute path."""
        return f"SQLite file {os.path.abspath(database.database)}"  # relative to where it runs

    def upsert(self, database, model, fields, conflict: dict, stamp_sql: str | None):
        return _RowByRow(database, model, fields, conflict, stamp_sql)


class PostgreSQL:
    """PostgreSQL, possibly behind PgBouncer in transaction pooling mode, where consecutive
    transactions of one client run on different server connections: nothing here relies on
    session state. The timeouts are set inside each transaction (``SET LOCAL``), never as
    startup options (PgBouncer refuses those) or per session. The driver is psycopg 3, as for
    the event loop's intake: its cursors bind parameters on the client (``ClientCursor``) and
    it prepares nothing (``prepare_threshold=None``), so no server-side prepared statement is
    left behind on a connection another client gets next, and a query may hold several
    statements with parameters (``SET LOCAL …; INSERT …``)."""

    name = "PostgreSQL"
    # The database's clock in the ingest time's unit, UTC microseconds (docs/spec.md §4, one
    # clock). clock_timestamp() is the moment it is evaluated, so an upsert stamps the time it
    # runs, not the time its transaction began; statement_timestamp() is when a statement
    # arrived, never later than the snapshot that statement reads.
    clock_sql = "floor(extract(epoch from clock_timestamp()) * 1000000)::bigint"
    read_clock_sql = "floor(extract(epoch from statement_timestamp()) * 1000000)::bigint"

    def connect(self, url: str, timeout: float, pool: dict) -> Database:
        try:
            cursor = _last_result_cursor()
        except ImportError:
            raise UnsupportedDatabaseUrl(
                "a PostgreSQL database URL needs the driver: pip install 'smsbounce[postgres]'"
            ) from None
        return _PostgresPool(
            **parse_url(url),
            prefer_psycopg3=True,  # peewee would take psycopg2 where both are installed
            prepare_threshold=None,  # no server-side prepared statement (PgBouncer)
            cursor_factory=cursor,  # every cursor binds on the client
            connect_timeout=max(1, round(timeout)),
            # A statement can never outlast the settle lag (docs/spec.md §4, commit skew).
            timeout_ms=int(timeout * 1000),
            pause=timeout,
            **pool,
        )

    def transaction(self, database: Database, write: bool):
        return database.atomic()  # reads too: that is where their timeouts are set

    def where(self, database: Database) -> str:
        """The database, as an operator finds it: its URL without the password."""
        params = database.connect_params
        user = f"{params['user']}@" if params.get("user") else ""
        port = f":{params['port']}" if params.get("port") else ""
        host = params.get("host") or "localhost"
        return f"PostgreSQL postgresql://{user}{host}{port}/{database.database}"

    def cap(self, left: float) -> str:
        return f"SET LOCAL statement_timeout = {max(1, int(left * 1000))}; "

    def upsert(self, database, model, fields, conflict: dict, stamp_sql: str | None):
        return _Unnested(database, model, fields, conflict, stamp_sql)


class _RowByRow:
    """SQLite's upsert: a statement per row. One writer at a time holds the lock, so a
    statement costs no round trip; its row count tells whether the row was written."""

    def __init__(self, database, model, fields, conflict: dict, stamp_sql: str | None):
        values = ["?"] * len(fields)
        if stamp_sql:
            values[-1] = stamp_sql
        query = model.insert_from(SQL(f"VALUES ({', '.join(values)})"), fields)
        self._sql, _ = query.on_conflict(**conflict).sql()
        self._values = len(fields) - 1 if stamp_sql else len(fields)
        self._database, self._model = database, model

    def run(self, rows: list[tuple], budget) -> Kept:
        """Upsert ``rows`` (tuples in the order of the fields, the message id first; one per
        message); what the rows it left alone hold."""
        database, sql, n = self._database, self._sql, self._values
        left_alone = [
            row[0] for row in rows if not database.execute_sql(budget.sql() + sql, row[:n]).rowcount
        ]
        if not left_alone:
            return {}
        budget.apply(database)
        model = self._model
        query = model.select(model.message_id, model.type, model.timestamp).where(
            model.message_id.in_(left_alone)
        )
        return {message_id: (kind, at) for message_id, kind, at in query.tuples()}


class _Unnested:
    """PostgreSQL's upsert: all rows in one statement, sent as one JSON array of rows — one
    parameter for the client to quote instead of a text array per column, read as ``jsonb`` so
    the server parses it once (``python -m bench.driver`` measures both ways) — sorted by
    message id so that two transactions (workers, instances) lock rows in the same order and
    cannot deadlock. RETURNING names the rows written; the others are read in one query."""

    def __init__(self, database, model, fields, conflict: dict, stamp_sql: str | None):
        names = [f"c{i}" for i in range(len(fields))]
        columns = names[:-1] + [stamp_sql] if stamp_sql else names
        # The columns the rows bind (all but the ingest time when the database stamps it).
        self.columns = len(fields) - 1 if stamp_sql else len(fields)
        values = [
            f"(j->>{i})::bigint AS c{i}"
            if isinstance(field, BigIntegerField)
            else f"j->>{i} AS c{i}"
            for i, field in enumerate(fields[: self.columns])
        ]
        source = SQL(
            f"SELECT {', '.join(columns)} FROM (SELECT {', '.join(values)} "  # noqa: S608 - our names
            "FROM jsonb_array_elements(%s::jsonb) AS j) AS u ORDER BY c0"
        )
        query = model.insert_from(source, fields).on_conflict(**conflict)
        # As text: the function below declares what it returns, whatever the column's length.
        self.sql, constants = query.returning(model.message_id.cast("text")).sql()
        if constants:
            raise ValueError("the upsert's constants are written into it: no parameter but rows")
        self.function = _Function(self.sql)
        kept = model.select(model.message_id, model.type, model.timestamp)
        self.kept_sql, _ = kept.where(model.message_id == fn.ANY(SQL("%s"))).sql()
        self._database = database

    def rows_param(self, rows: list[tuple]) -> str:
        """The statement's one parameter: ``rows`` (the columns it binds, in order) as JSON."""
        return dumps([row[: self.columns] for row in rows])

    def run(self, rows: list[tuple], budget) -> Kept:
        """Upsert ``rows`` (distinct messages); what the rows it left alone hold."""
        database = self._database
        cursor = database.execute_sql(budget.sql() + self.sql, [self.rows_param(rows)])
        written = {message_id for (message_id,) in cursor.fetchall()}
        left_alone = [row[0] for row in rows if row[0] not in written]
        if not left_alone:
            return {}
        cursor = database.execute_sql(budget.sql() + self.kept_sql, [left_alone])
        return {message_id: (kind, at) for message_id, kind, at in cursor.fetchall()}


class _Function:
    """The upsert as a PL/pgSQL function of its rows, for the event loop's batches
    (``loop_intake.PostgresWriter``): PostgreSQL parses and plans the 1.4 KB statement once per
    server connection instead of once per batch, which took a fifth to a third of its CPU per
    batch (``python -m bench.driver``: the statement ÷ the function, 1.44 for 1 row, 1.25 for
    16). A function is no session state, so PgBouncer in transaction pooling is served as
    before. Its name carries a digest of its body: a release whose statement differs calls a
    function of its own, so instances of two releases can share one database; one left by an
    older release is never called again and costs nothing."""

    def __init__(self, statement: str):
        body = statement.replace("%s::jsonb", "batch_rows")
        if body.count("batch_rows") != 1:
            raise ValueError("the upsert reads its rows from one parameter")
        self.name = "smsbounce_upsert_" + hashlib.sha256(body.encode()).hexdigest()[:16]
        # Created where missing, in one statement whoever runs it; another connection creating
        # it at the same moment (a worker, smsbounce migrate) is no failure.
        self.ensure_sql = (
            f"DO $ensure$ BEGIN IF to_regprocedure('{self.name}(jsonb)') IS NULL THEN "
            f"CREATE FUNCTION {self.name}(batch_rows jsonb) RETURNS SETOF text "
            f"LANGUAGE plpgsql AS $upsert$ BEGIN RETURN QUERY {body}; END $upsert$; "
            "END IF; EXCEPTION WHEN duplicate_function OR unique_violation THEN NULL; "
            "END $ensure$"
        )
        self.call_sql = f"SELECT * FROM {self.name}(%s::jsonb)"  # noqa: S608 - our name


@cache
def _last_result_cursor() -> type:
    """psycopg 3's ``ClientCursor`` (parameters bound on the client, as psycopg2 did) that,
    like psycopg2, answers for the last statement of a query of several: ``SET LOCAL …;
    INSERT … RETURNING`` gives the rows and the row count of the INSERT. psycopg 3 stops at the
    first result (``nextset()`` moves on). ImportError without psycopg 3."""
    import psycopg

    class LastResultCursor(psycopg.ClientCursor):
        __slots__ = ()

        def execute(self, query, params=None, **kwargs):
            super().execute(query, params, **kwargs)
            while self.nextset():
                pass
            return self

    return LastResultCursor


class _SQLitePool(PooledSqliteDatabase):
    """playhouse's pool whose new connections retry their pragmas while the file is locked.

    SQLite answers ``PRAGMA journal_mode = wal`` with "database is locked" at once, without its
    busy handler, while another connection opens or writes the file: workers starting together
    on a fresh file failed so (3 connections migrating a new file at once: 23 failures in 300
    files, tests/buffer/test_migrations.py). The pragmas are idempotent, so a connection sets
    them again until ``busy_s`` has passed, as the busy handler would have waited."""

    def __init__(self, *args, busy_s: float, **kwargs):
        self._busy_s = busy_s
        super().__init__(*args, **kwargs)

    def _set_pragmas(self, conn) -> None:
        deadline = time.monotonic() + self._busy_s
        pause = 0.001
        while True:
            try:
                return super()._set_pragmas(conn)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


class _PostgresPool(PooledPostgresqlDatabase):
    """playhouse's pool that, after a connection attempt timed out, fails at once for a while.

    playhouse opens connections while holding the database lock, so when the server stops
    answering, every thread of a worker would wait one connect timeout after another; instead
    the threads queued behind a timed-out attempt answer 503 at once, and the next attempt is
    made when the pause is over. A refused connection fails fast anyway and pauses nothing, so
    the buffer is back the moment the database is.
    """

    def __init__(self, *args, pause: float, timeout_ms: int, **kwargs):
        self._pause = pause
        self._failing_until = 0.0
        # Sent with BEGIN in one round trip; SET LOCAL ends with the transaction, so a pooler
        # handing the server connection to another client hands over no setting of ours.
        self._begin_sql = "BEGIN; " + " ".join(
            f"SET LOCAL {name} = {timeout_ms};"
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        )
        super().__init__(*args, **kwargs)

    def begin(self, isolation_level=None):
        if isolation_level is not None:
            raise ValueError("the buffer runs every transaction at the server's default level")
        self.execute_sql(self._begin_sql)

    def _connect(self):
        if time.monotonic() < self._failing_until:
            raise OperationalError("the database did not answer a moment ago; retry later")
        started = time.monotonic()
        try:
            return super()._connect()
        except Exception:
            if time.monotonic() - started >= self._pause / 2:
                self._failing_until = time.monotonic() + self._pause
            raise


# (database file, pid) -> (descriptor of its lock file, the lock of this process's threads);
# keyed by pid too: a forked child needs locks of its own.
_turns: dict[tuple[str, int], tuple[int, threading.Lock]] = {}
_held = threading.local()  # the turns this thread holds


@contextmanager
def _writers_turn(database: Database):
    """Processes writing one SQLite file take turns on ``<file>-writers.lock`` first.

    SQLite's own busy handler polls a taken lock with sleeps growing to 100 ms, so under
    several workers a write waited up to that long after the lock was free (p99 at 8
    connections 245 ms, measured); a blocked ``flock`` wakes the moment the holder lets go.
    The holder is a process of ours inside a transaction its budget bounds; anything else that
    writes the file (the sqlite3 shell) is still waited for by the busy timeout. ``flock``
    excludes other processes only (threads share the descriptor), so the threads of one process
    (the writer, the counting thread's flush, a purge) take turns on a lock of their own first:
    without it they met in SQLite's busy handler, a 40-90 ms stall every few seconds under load.
    """
    path = database.database
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    key = (path, os.getpid())
    held = _held.__dict__.setdefault("turns", set())
    if key in held:  # a write inside this thread's own: it has its turn
        yield
        return
    turn = _turns.get(key)
    if turn is None:
        made = (os.open(f"{path}-writers.lock", os.O_RDWR | os.O_CREAT), threading.Lock())
        turn = _turns.setdefault(key, made)  # two threads at once: both take the first
        if turn is not made:
            os.close(made[0])
    fd, threads = turn
    with threads:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise OperationalError(f"cannot take the writers' lock: {exc.strerror}") from exc
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fcntl.flock(fd, fcntl.LOCK_UN)
