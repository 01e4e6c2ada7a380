"""The report intake on each worker's event loop (``smsbounce serve``, ``SMSBOUNCE_LOOP_INTAKE``).

A request to an ingest route (``ingest.INGEST``, ``ingest.PROVIDER_REPORT``) is decided where
granian handed it over, on the worker's event loop, with no thread hop: the bridge has read it
with its limits (``plumbing.wsgi_bridge``), the one door (``Intake.prepare``) decides, the
bounces join the batch this worker writes next (``LoopGroupCommit``), and once that batch is
committed ``Pending.finish`` makes the request's ``Taken``. The loop answers it with the rules
the Bottle route and the app's middleware answer by — ``ingest.reply``, ``HttpError.parts``,
``SECURITY_HEADERS``, the request id and ``RequestLog.record`` (access line and metrics) — so
status, body, headers, access line and metrics are the same (tests/buffer/test_loop_intake.py).

PostgreSQL is written through psycopg 3's asyncio connection, one per worker (one batch at a
time is in flight), its queries sent and read through psycopg's libpq layer, in one round trip
per batch: the ``SET LOCAL`` timeouts and the ranked upsert — called as a function the writer
creates, planned once per server connection — sent as one simple query, which PostgreSQL runs
as one transaction, with the values bound on the client: no startup parameter and no
server-side prepared statement, so PgBouncer in transaction pooling works as it does for the
rest of the buffer. SQLite (and a PostgreSQL batch that quarantines or keeps reports, rare) is
written by the store's own ``write_batch`` on one writer thread.

What does not fit the fast path — another method or path, an unknown provider, a body refused
before the door — goes to the Bottle app on the bridge's threads, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from bottle import BaseRequest

from smsbounce.plumbing.web import SECURITY_HEADERS
from smsbounce.plumbing.wsgi_bridge import STARTED

from . import upsert as upserts
from .errors import DatabaseUnavailable, HttpError
from .ingest import INGEST, PROVIDER_REPORT, SAVE_FAILED, reply
from .logs import ENDPOINT, REQUEST_ID_HEADER, Turn, request_id
from .reports import Result

log = logging.getLogger("smsbounce.buffer")

_DI = re.compile(r"/api/v1/notifications/set(?:/([^/]+))?")
_PROVIDER = re.compile(r"/api/v1/providers/([^/]+)/report(?:/([^/]+))?")
# The rules the Bottle routes are installed with (``ReportRoutes.install``): without, with token.
_DI_RULES = (INGEST, INGEST + "/<token>")
_PROVIDER_RULES = (PROVIDER_REPORT, PROVIDER_REPORT + "/<token>")


class _Job:
    __slots__ = ("payload", "rows", "future", "deadline")

    def __init__(self, payload, rows: int, future: asyncio.Future, deadline: float):
        self.payload, self.rows, self.future, self.deadline = payload, rows, future, deadline


class LoopGroupCommit:
    """``group_commit.GroupCommit`` on an event loop: the reports queued while a batch is being
    written make the next batch (up to ``batch_size`` rows; ``batch_wait`` seconds waited for
    more), written by ``write(jobs)`` in one transaction. The same failures: a database error
    answers every job of the batch ``DatabaseUnavailable``; anything else retries each job
    alone; a job no batch took within ``timeout`` is answered ``DatabaseUnavailable``."""

    def __init__(self, write, *, batch_size: int, batch_wait: float, timeout: float, on_batch):
        self._write, self.on_batch = write, on_batch
        self.batch_size, self.batch_wait, self.timeout = batch_size, batch_wait, timeout
        self._queue: deque[_Job] = deque()
        self._task: asyncio.Task | None = None
        self._expiry: asyncio.TimerHandle | None = None

    async def submit(self, payload, rows: int):
        loop = asyncio.get_running_loop()
        job = _Job(payload, rows, loop.create_future(), loop.time() + self.timeout)
        self._queue.append(job)
        if self._task is None:
            self._task = loop.create_task(self._lead())
        if self._expiry is None:
            self._expiry = loop.call_at(job.deadline, self._expire)
        return await job.future

    def _expire(self) -> None:
        """Answer the jobs no batch took within ``timeout``; a job already taken is left alone:
        its transaction is bounded by the same timeout. The queue is in the order of the jobs'
        deadlines, so one timer, for the first job's, does for all (a timer per job cost a
        report about 1.5 µs of the loop's time, and uvloop's timers more to close)."""
        loop = asyncio.get_running_loop()
        # uvloop counts its timers in milliseconds: this one may come a millisecond early.
        queue, now = self._queue, loop.time() + 0.001
        message = f"no commit within SMSBOUNCE_DB_TIMEOUT ({self.timeout:g} s)"
        while queue and queue[0].deadline <= now:
            _settle(queue.popleft(), DatabaseUnavailable(message))
        self._expiry = loop.call_at(queue[0].deadline, self._expire) if queue else None

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def _lead(self) -> None:
        try:
            while self._queue:
                batch = await self._take()
                try:
                    await self._commit(batch)
                finally:
                    for job in batch:  # cancelled mid-write: say so
                        if not job.future.done():
                            _settle(job, DatabaseUnavailable("the write was cut off"))
        finally:
            self._task = None

    async def _take(self) -> list[_Job]:
        batch, rows, until = [], 0, None
        while True:
            queue = self._queue
            while queue and (not batch or rows + queue[0].rows <= self.batch_size):
                job = queue.popleft()
                batch.append(job)
                rows += job.rows
            if rows >= self.batch_size or queue or not self.batch_wait:
                return batch
            until = until or time.monotonic() + self.batch_wait
            left = until - time.monotonic()
            if left <= 0:
                return batch
            await asyncio.sleep(min(left, 0.001))

    async def _commit(self, batch: list[_Job]) -> None:
        try:
            results = await self._write(batch)
        except DatabaseUnavailable as exc:
            for job in batch:
                _settle(job, DatabaseUnavailable(str(exc)))
            return
        except Exception as exc:
            # Not the database's failure but something one job carried: each alone.
            if len(batch) == 1:
                _settle(batch[0], exc)
            else:
                for job in batch:
                    await self._commit([job])
            return
        with contextlib.suppress(Exception):  # counted before anyone is answered
            self.on_batch(sum(job.rows for job in batch))
        for job, result in zip(batch, results, strict=True):
            _settle(job, result)


def _settle(job: _Job, outcome) -> None:
    """``job``'s answer: ``outcome``, raised if an exception. None for a job whose request was
    cancelled meanwhile (its client gone): the others of its batch are answered all the same."""
    future = job.future
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class PostgresWriter:
    """Bounces to PostgreSQL in one round trip per batch, on one psycopg 3 asyncio connection.

    The statement is the store's own (``upsert.Upsert``, ``backends._Unnested``): the ranked
    upsert, once per round, whose RETURNING names the rows written, called as the function
    made of it (``backends._Function``), created on connecting if the database lacks it; a
    role that may not create it sends the statement itself, as the threads do. The timeouts
    are ``SET LOCAL`` (ended with the transaction); the statements share ``timeout`` between them
    as ``db.Budget`` does, so the batch holds its rows uncommitted no longer than one
    statement may (the settle lag, docs/spec.md §4). Reports the upsert left alone are told
    DUPLICATE from STALE by the rows as they stand once the batch is committed, read in a second
    round trip only then: reading them in the batch's own query cost PostgreSQL 13-21 % and the
    client 14-41 % more per batch, for what redeliveries alone need (``python -m
    bench.driver``). The upsert is idempotent, so a connection found broken is replaced and the
    batch sent once more on the new one."""

    def __init__(self, url: str, upsert: upserts.Upsert, timeout: float, where: str):
        self.url, self.timeout, self.where = url, timeout, where
        self._upsert = upsert
        self._statement = upsert.statement()
        self._connection = None
        self._calls_function = False  # the connection's database has the upsert's function

    async def _connect(self):
        import psycopg

        connection = await psycopg.AsyncConnection.connect(
            self.url,
            # No BEGIN from the driver: a query of several statements is its own transaction.
            autocommit=True,
            connect_timeout=max(1, round(self.timeout)),
            prepare_threshold=None,  # no server-side prepared statement (PgBouncer)
            cursor_factory=psycopg.AsyncClientCursor,
        )
        self._calls_function = await self._have_function(connection)
        return connection

    async def _have_function(self, connection) -> bool:
        """Whether the upsert's function is there, created if it was not. Not being allowed
        to create it costs speed, never a report: the statement is then sent itself."""
        import psycopg

        function = self._statement.function
        try:
            await connection.execute(function.ensure_sql)
        except psycopg.Error as exc:
            if connection.broken:
                raise
            log.warning(
                "the batches send the upsert's statement itself: cannot create %s (%s): %s",
                function.name,
                self.where,
                str(exc).strip(),
            )
            return False
        return True

    async def write(self, jobs: list) -> list[list[Result]]:
        work = [(reports, provider) for reports, provider, _ in (job.payload for job in jobs)]
        rounds = upserts.rounds(work)
        found = await self._send(lambda: self._query(rounds))
        written = [{message_id for (message_id,) in rows} for rows in found]
        results = [[upserts.STORED] * len(reports) for reports, _ in work]
        left_alone = [
            (j, k, report)
            for ids, batch in zip(written, rounds, strict=True)
            for j, k, report, _, _ in batch
            if report.message_id not in ids
        ]
        if left_alone:
            now = await self._kept(sorted({report.message_id for _, _, report in left_alone}))
            for j, k, report in left_alone:
                kept = now.get(report.message_id)
                results[j][k] = (
                    upserts.DUPLICATE if kept is None else upserts.ignored(report, *kept)
                )
        return results

    def _query(self, rounds: list) -> tuple[str, list]:
        """The timeouts and one upsert per round, as one query (one implicit transaction)."""
        statement = self._statement
        upsert = statement.function.call_sql if self._calls_function else statement.sql
        parts = [self._timeouts(len(rounds))] + [upsert] * len(rounds)
        params = [statement.rows_param(self._upsert.rows(batch)) for batch in rounds]
        return "; ".join(parts), params

    def _timeouts(self, statements: int) -> str:
        """``SET LOCAL`` timeouts sharing ``timeout`` between the statements after them."""
        cap = max(1, int(self.timeout * 1000 / statements))
        return f"SET LOCAL statement_timeout = {cap}; SET LOCAL lock_timeout = {cap}"

    async def _kept(self, message_ids: list[str]) -> dict[str, tuple[str, str]]:
        """What the rows a batch left alone hold, read once it is committed: a second round
        trip, only for reports that changed nothing (redeliveries, mostly). The batch is
        stored whatever this meets, so a failure here answers them duplicates, not 503."""
        query = f"{self._timeouts(1)}; {self._statement.kept_sql}"
        try:
            (rows,) = await self._send(lambda: (query, [message_ids]))
        except DatabaseUnavailable as exc:
            log.warning("reports left alone answered as duplicates: %s", exc)
            return {}
        return {message_id: (kind, at) for message_id, kind, at in rows}

    async def _send(self, query) -> list[list[tuple]]:
        """The rows of each statement of the query ``query()`` makes (sql, params) that returns
        rows. A connection found broken, or whose database lost the upsert's function, is
        replaced and the query made and sent once more (every query here is idempotent)."""
        import psycopg

        for attempt in (1, 2):
            fresh = self._connection is None
            try:
                if fresh:
                    self._connection = await asyncio.wait_for(self._connect(), self.timeout)
                return await asyncio.wait_for(self._run(*query()), self.timeout)
            except (psycopg.Error, OSError, asyncio.TimeoutError) as exc:
                # Only a connection found broken (the server restarted since, a pooler dropped
                # it) or a function dropped since is worth a second try; whatever the server
                # refused would be refused again.
                broken = self._connection is not None and self._connection.broken
                broken = broken or isinstance(exc, psycopg.errors.UndefinedFunction)
                await self.close()
                if isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
                    raise  # what one job carried, not the database's failure
                if fresh or attempt == 2 or not broken:
                    problem = str(exc).strip() or exc.__class__.__name__
                    raise DatabaseUnavailable(f"{problem} ({self.where})") from exc
        raise AssertionError("unreachable")

    async def _run(self, sql: str, params: list) -> list[list[tuple]]:
        """The rows of each statement of ``sql`` that returns rows, its ``%s`` bound to
        ``params`` as libpq or psycopg quotes them, sent and read through psycopg's libpq layer
        (``psycopg.pq``): its cursor's execute, fetch and nextset cost a batch 55-70 µs more
        client CPU (4 rows, uvloop), about a third of the batch's client side."""
        from psycopg import pq
        from psycopg.sql import Literal

        connection = self._connection
        pgconn, encoding = connection.pgconn, connection.info.encoding
        pieces = sql.encode(encoding).split(b"%s")
        if len(pieces) != len(params) + 1:
            raise ValueError("one parameter per %s")
        query = pieces[0]
        for param, piece in zip(params, pieces[1:], strict=True):
            # A batch's rows: libpq quotes them in half the time psycopg's adaptation takes.
            if isinstance(param, str):
                quoted = pq.Escaping(pgconn).escape_literal(param.encode(encoding))
            else:
                quoted = Literal(param).as_bytes(connection)
            query += quoted + piece
        pgconn.send_query(query)
        while pgconn.flush():  # the rest once the socket takes it
            await _ready(pgconn.socket, writable=True)
        found, failure = [], None
        while True:
            pgconn.consume_input()
            while not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:  # all read: the connection is ready for the next query
                    if failure is not None:
                        raise failure
                    return found
                if result.status == pq.ExecStatus.TUPLES_OK:
                    found.append(_rows(result, encoding))
                elif result.status != pq.ExecStatus.COMMAND_OK and failure is None:
                    failure = _error(result, encoding)
            await _ready(pgconn.socket, writable=False)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class LoopIntake:
    """The bridge's ``on_loop`` hook (``plumbing.wsgi_bridge``): answers the ingest routes of
    ``app`` (``create_app``) on the event loop, or returns None for the Bottle app's threads
    to answer."""

    def __init__(self, app, store, settings):
        self.routes, self.store = app.reports, store
        self.intake = self.routes.intake
        self._app = app
        self._thread: ThreadPoolExecutor | None = None
        self._postgres: PostgresWriter | None = None
        if not _is_sqlite(store) and _have_psycopg():
            self._postgres = PostgresWriter(
                settings.database_url,
                store.upsert,
                settings.db_timeout,
                _where(store),
            )
        self._writer: LoopGroupCommit | None = None
        self._turn: Turn | None = None
        self._settings = settings

    def _batches(self) -> LoopGroupCommit:
        if self._writer is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="writer")
            self._writer = LoopGroupCommit(
                self._write,
                batch_size=self._settings.batch_size,
                batch_wait=self._settings.batch_wait,
                timeout=self._settings.db_timeout,
                on_batch=self.store.batch_written,
            )
        return self._writer

    async def _write(self, jobs: list) -> list:
        if self._postgres is not None and not any(job.payload[2] for job in jobs):
            return await self._postgres.write(jobs)
        # SQLite, or reports to quarantine or keep: the store's own transaction, on one thread.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self.store.write_batch, jobs)

    async def __call__(self, environ: dict, call):
        """The answer (status, headers, body) to an ingest request, or None: not one of ours."""
        started = environ.get(STARTED) or time.perf_counter()
        found = _route(environ)
        if found is None:
            return None
        name, token, rule = found
        profile = self.routes.profiles.get(name)
        if profile is None:
            return None
        try:
            raw = self.routes.raw_request(BaseRequest(environ), token)
        except HttpError:
            return None  # refused before the door: the route says so, on a thread
        try:
            pending = self.intake.prepare(profile, raw)
        except Exception:
            return None  # a bug: the route meets it again on a thread, and answers it as such
        taken = pending.taken
        if taken is None:
            try:
                results = await self._save(pending)
            except HttpError as exc:
                taken = pending.finish(error=exc)
            except Exception as exc:
                # What the threads' save would have raised: the route raises it, Bottle answers.
                environ[SAVE_FAILED] = exc
                return call(environ)
            else:
                taken = pending.finish(results)
        # What was counted is written by the worker's counting thread (OutcomeCounts.start).
        return self._answer(environ, profile, taken, rule, started)

    def _answer(self, environ: dict, profile, taken, rule: str, started: float):
        """What the Bottle route and the app's middleware make of ``taken`` (``ingest.reply``,
        ``HttpError.parts``, ``SECURITY_HEADERS``, ``logs.RequestLog``), without Bottle; what it
        counts (the route's ``on_taken``) and logs is done at the end of the loop's turn."""
        if self._turn is None:
            self._turn = Turn(asyncio.get_running_loop(), self._app.observe_all)
        self._turn.count(taken)
        if taken.error is None:
            status, content_type, body = reply(profile, taken)
            headers = [("Content-Type", content_type)]
        else:
            self._app.note_error(taken.error)
            status, headers, body = taken.error.parts()
        data = body.encode()
        if status == 204:  # as Bottle answers it: no body, nor the fields that describe one
            data, headers = b"", []
        else:
            headers.append(("Content-Length", str(len(data))))
        rid = request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENDPOINT] = rule
        headers += SECURITY_HEADERS
        headers.append((REQUEST_ID_HEADER, rid))
        seconds = time.perf_counter() - started
        self._app.request_log.record(environ, str(status), seconds, rid, self._turn)
        return status, headers, data

    async def _save(self, pending) -> list[Result]:
        """``Store.save_all`` on the loop: the bounces and held reports of one request."""
        if not pending.bounces and not pending.held:
            return []  # nothing to store: acknowledgements need no database
        if not all(report.is_bounce for report, _ in pending.bounces):
            raise ValueError("only bounces are stored")
        work = (pending.bounces, pending.profile.name, pending.held)
        return await self._batches().submit(work, len(pending.bounces) + len(pending.held))

    async def close(self) -> None:
        if self._turn is not None:
            self._turn.flush()
        if self._postgres is not None:
            await self._postgres.close()
        if self._thread is not None:
            self._thread.shutdown(wait=True)


async def _ready(fd: int, *, writable: bool) -> None:
    """Until ``fd`` is readable (or writable), on the running loop."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    add, remove = (
        (loop.add_writer, loop.remove_writer) if writable else (loop.add_reader, loop.remove_reader)
    )
    add(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        remove(fd)


def _rows(result, encoding: str) -> list[tuple]:
    """A result's rows, every value text (or None)."""
    get, columns = result.get_value, range(result.nfields)
    return [
        tuple(None if (value := get(i, j)) is None else value.decode(encoding) for j in columns)
        for i in range(result.ntuples)
    ]


def _error(result, encoding: str) -> Exception:
    """psycopg's exception for a failed statement's result, by its SQLSTATE (what its cursor
    would have raised: a data error, an undefined function, …)."""
    from psycopg import errors, pq

    state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = result.error_message.decode(encoding, "replace").strip()
    try:
        kind = errors.lookup(state)
    except KeyError:
        kind = errors.DatabaseError
    return kind(message)


def _route(environ: dict) -> tuple[str, str | None, str] | None:
    """(profile name, path token, the route's rule) of an ingest request Bottle would route to
    the report handlers; None for anything else (and for a path that is not plain ASCII)."""
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if not path.isascii():
        return None
    match = _DI.fullmatch(path)
    if match is not None:
        token = match.group(1)
        return ("di", token, _DI_RULES[token is not None]) if method == "GET" else None
    match = _PROVIDER.fullmatch(path)
    if match is not None and method in ("GET", "POST"):
        token = match.group(2)
        return match.group(1), token, _PROVIDER_RULES[token is not None]
    return None


def _have_psycopg() -> bool:
    """psycopg 3 is there (the postgres extra brings it); without it the store's own
    transaction writes each batch, on the writer thread, through peewee."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


def _is_sqlite(store) -> bool:
    from . import db

    return db.is_sqlite(store.database)


def _where(store) -> str:
    from . import db

    return db.where(store.database)
