"""The bounces of one database: what the service asks of it (docs/spec.md §4).

Reports are written by group commit (``group_commit``): the ones that arrive together in a
process are stored in one transaction, with the ranked upsert (``upsert``). Marketing reads them
page by page (``pages``).

One clock (docs/spec.md §4): every ingest time, and every comparison with "now" that a window
depends on, comes from one clock — the database server's on PostgreSQL, where several instances
share one database, and the host's on SQLite, whose database lives on that one host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from peewee import EXCLUDED, SQL, Database, fn

from . import db, migrations, models
from .codes import ReportCodes
from .group_commit import GroupCommit, Job
from .pages import Page, Pages
from .polls import MarketingPolls
from .quarantine import Quarantine
from .reports import Report, Result
from .upsert import Upsert


def _now_micros() -> int:
    return time.time_ns() // 1000


class Store:
    """The bounces of one database. Every method may raise ``db.DatabaseUnavailable``."""

    def __init__(
        self,
        database: Database,
        *,
        page_size: int = 100,
        settle_lag: float = 30.0,
        clock: Callable[[], int] | None = None,
        host_clock: Callable[[], int] = _now_micros,
        db_timeout: float = 10.0,
        batch_size: int = 64,
        batch_wait: float = 0.0,
    ):
        """``clock`` pins the ingest clock (tests place ingest times with it); by default it is
        the database's on PostgreSQL and ``host_clock`` — this process's clock, UTC
        microseconds — on SQLite. ``db_timeout`` bounds a report's wait for its commit and
        each batch's transaction; ``batch_size`` and ``batch_wait`` shape the batches
        (``group_commit``)."""
        self.database = database
        self.db_timeout = db_timeout
        self.page_size = page_size
        self.settle_lag_us = int(settle_lag * 1_000_000)
        self._host_clock = host_clock
        self._clock = clock or host_clock
        backend = db.backend(database)
        # True: the database stamps ingest times and tells "now" (the one clock, §4).
        self.database_clock = clock is None and backend.clock_sql is not None
        self._model = models.bind(database)
        self._counts = models.bind(database, models.OutcomeCount)
        self.quarantine = Quarantine(database, self._stamp)
        self.codes = ReportCodes(database)
        self.polls = MarketingPolls(database, self._model)
        self._upsert = Upsert(database, self._model, None if self.database_clock else self._clock)
        self._writer = GroupCommit(
            self.write_batch, batch_size=batch_size, batch_wait=batch_wait, timeout=db_timeout
        )
        self._pages = Pages(
            database,
            self._model,
            size=page_size,
            settle_lag_us=self.settle_lag_us,
            clock=self._clock,
            clock_sql=backend.read_clock_sql if self.database_clock else None,
        )

    @classmethod
    def open(
        cls,
        settings,
        clock: Callable[[], int] | None = None,
        host_clock: Callable[[], int] = _now_micros,
    ) -> Store:
        return cls(
            db.connect(settings.database_url, settings.db_timeout, settings.pool_size),
            page_size=settings.page_size,
            settle_lag=settings.settle_lag,
            clock=clock,
            host_clock=host_clock,
            db_timeout=settings.db_timeout,
            batch_size=settings.batch_size,
            batch_wait=settings.batch_wait,
        )

    @property
    def ingest_clock(self) -> str:
        """Whose clock stamps ingest times: "database" or "host"."""
        return "database" if self.database_clock else "host"

    def now_us(self) -> int:
        """Now on the ingest clock, UTC microseconds."""
        if not self.database_clock:
            return self._clock()
        with db.session(self.database):
            return db.database_now_us(self.database)

    def clock_offset(self) -> float:
        """Seconds the ingest clock is ahead of this process's clock (negative: behind).

        Measured against the database on PostgreSQL, to within half a round trip; 0.0 when
        ingest times come from this process's own clock (SQLite): there is no second clock.
        """
        if not self.database_clock:
            return 0.0
        with db.session(self.database):
            before = self._host_clock()
            remote = db.database_now_us(self.database)
            after = self._host_clock()
        return (remote - (before + after) / 2) / 1_000_000

    def create_tables(self) -> None:
        """Bring the schema to the latest version (``buffer.migrations``)."""
        migrations.migrate(self.database)

    def check(self) -> None:
        """Raise DatabaseUnavailable unless the database answers and the table exists, and
        MigrationError unless every migration has been applied."""
        with db.session(self.database):
            self._model.select().limit(1).execute()
        migrations.check(self.database)

    def close(self) -> None:
        """Finish the writes queued, then close every pooled connection. The store stays
        usable: the pool opens new connections for the next write."""
        self._writer.close()
        self.database.close_all()

    def observe_batches(self, observe: Callable[[int], None]) -> None:
        """Tell ``observe`` the reports (bounces and quarantined ones) of each transaction."""
        self._writer.on_batch = observe

    def batch_written(self, rows: int) -> None:
        """Tell the observer of ``observe_batches`` about a batch written elsewhere (the event
        loop's intake)."""
        self._writer.on_batch(rows)

    def make_upsert_function(self) -> str | None:
        """The name of the event loop's upsert function (``backends._Function``), created
        where the database lacks it: ``smsbounce migrate`` makes it as the role that migrates,
        for a buffer whose own role may not create it. None on SQLite, which has none."""
        function = getattr(self._upsert.statement(), "function", None)
        if function is None:
            return None
        with db.session(self.database, write=True):
            self.database.execute_sql(function.ensure_sql)
        return function.name

    @property
    def upsert(self) -> Upsert:
        """The ranked upsert this store writes with (its statements and its ingest clock)."""
        return self._upsert

    @property
    def writes_pending(self) -> tuple[int, int]:
        """Requests of this process waiting for their commit: (queued, being written)."""
        return self._writer.pending

    def save(self, report: Report, *, provider: str = "di", raw: str | None = None) -> Result:
        """Store one bounce; see ``save_all``."""
        return self.save_all([(report, raw)], provider=provider)[0]

    def save_all(
        self,
        reports: list[tuple[Report, str | None]],
        *,
        provider: str,
        quarantined: list[tuple] = (),
    ) -> list[Result]:
        """Store bounces in one transaction; STORED, DUPLICATE or STALE for each, in order.
        ``quarantined`` (entry, raw record) pairs go into the quarantine in the same one.

        A bounce replaces the stored one for its message only if it is more significant:
        Temporary < Permanent, ties by event time; an exact duplicate changes nothing. The
        winner gets a fresh ingest time so the next poll serves the change. Each upsert is one
        statement, so concurrent workers cannot interleave; all are committed before this
        returns, or none is. The transaction may hold other requests' reports too
        (``group_commit``): the results are as if the requests had been stored one after the
        other, in the order they arrived.
        """
        if not reports and not quarantined:
            return []  # nothing to store: no connection, so acknowledgements need no database
        if not all(report.is_bounce for report, _ in reports):
            raise ValueError("only bounces are stored")
        work = (list(reports), provider, list(quarantined))
        return self._writer.submit(work, len(reports) + len(quarantined))

    def write_batch(self, jobs: list[Job]) -> list[list[Result]]:
        """Store every job's work in one transaction, its time bounded as a whole by
        ``db_timeout`` (``db.Budget``); each job's results. Group commit's ``write``, and the
        event loop's intake's on its writer thread (``loop_intake``)."""
        work = [job.payload for job in jobs]
        with db.session(self.database, write=True):
            budget = db.Budget(self.database, self.db_timeout)
            results = self._upsert.write(
                [(reports, provider) for reports, provider, _ in work], budget
            )
            for _, provider, quarantined in work:
                if quarantined:
                    budget.apply(self.database)
                    self.quarantine.insert(quarantined, provider)
        return results

    def replace(self, report: Report, *, provider: str, raw: str | None) -> None:
        """Store ``report`` as its message's bounce whatever was stored, with a fresh ingest
        time so the next poll serves it: ``smsbounce replay`` after a mapping was corrected."""
        if not report.is_bounce:
            raise ValueError("only bounces are stored")
        with db.session(self.database, write=True):
            budget = db.Budget(self.database, self.db_timeout)
            self._upsert.write([([(report, raw)], provider)], budget, ranked=False)

    def stored(self, *, provider: str | None = None, since_us: int = 0) -> list:
        """Stored bounces ingested at or after ``since_us`` (oldest first), for replay."""
        model = self._model
        query = model.select().where(model.ingested_at >= since_us)
        if provider:
            query = query.where(model.provider == provider)
        with db.session(self.database):
            return list(query.order_by(model.ingested_at, model.message_id))

    def _stamp(self):
        """An ingest time to write: the database's clock as SQL on PostgreSQL (taken by the
        server while the statement runs), else this clock's value, read inside the transaction
        (on SQLite after the write lock is held)."""
        return SQL(db.backend(self.database).clock_sql) if self.database_clock else self._clock()

    def page(self, number: int, window: tuple[datetime, datetime] | None = None) -> Page:
        """Page ``number`` (from 0) of the bounces ingested in ``window`` [start, end), or of
        all of them; the window selects ingest times a settle lag earlier (``pages``)."""
        return self._pages.read(number, window)

    def ingest_span(self, window: tuple[datetime, datetime]) -> tuple[int, int]:
        """The ingest times [start, end) in µs a poll window selects: shifted back by the
        settle lag (docs/spec.md §4)."""
        return self._pages.span(window)

    def latest(self, count: int) -> list:
        """The ``count`` bounces ingested last, newest first (for the status page)."""
        model = self._model
        query = model.select().order_by(model.ingested_at.desc(), model.message_id).limit(count)
        with db.session(self.database):
            return list(query)

    def stored_since(self, since_us: int) -> dict[str, int]:
        """Bounces by type whose current version was ingested at or after ``since_us``."""
        model = self._model
        query = (
            model.select(model.type, fn.COUNT(model.message_id).alias("n"))
            .where(model.ingested_at >= since_us)
            .group_by(model.type)
        )
        with db.session(self.database):
            return {row.type: row.n for row in query}

    def add_outcome_counts(self, counts: dict[tuple[int, str], int]) -> None:
        """Add ``{(minute, outcome): n}`` to the per-minute counts, in one transaction."""
        model = self._counts
        with db.session(self.database, write=True):
            for (minute, outcome), n in sorted(counts.items()):
                model.insert(minute=minute, outcome=outcome, count=n).on_conflict(
                    conflict_target=[model.minute, model.outcome],
                    update={model.count: model.count + getattr(EXCLUDED, "count")},  # noqa: B009
                ).execute()

    def outcome_counts(self, since_minute: int) -> dict[str, int]:
        """Reports by outcome from ``since_minute`` (minutes since the epoch) on."""
        model = self._counts
        query = (
            model.select(model.outcome, fn.SUM(model.count).alias("n"))
            .where(model.minute >= since_minute)
            .group_by(model.outcome)
        )
        with db.session(self.database):
            return {row.outcome: int(row.n) for row in query}

    def outcome_counts_by_hour(self, since_minute: int) -> dict[tuple[int, str], int]:
        """``{(hour since the epoch, outcome): n}`` from ``since_minute`` on (the status page's
        chart)."""
        model = self._counts
        hour = (model.minute / 60).alias("hour")
        query = (
            model.select(hour, model.outcome, fn.SUM(model.count).alias("n"))
            .where(model.minute >= since_minute)
            .group_by(SQL("hour"), model.outcome)
        )
        with db.session(self.database):
            return {(int(row.hour), row.outcome): int(row.n) for row in query}

    def purge(self, before_us: int, batch: int = 1000) -> int:
        """Delete one batch of bounces ingested before ``before_us``, oldest first, in its own
        short transaction; return how many went (fewer than ``batch``: nothing older is left).

        The age condition is part of the DELETE itself, not only of the batch's sub-select: a
        report that replaces an old bounce while the purge runs gets a fresh ingest time, and
        PostgreSQL re-checks the condition on the updated row, so it is never deleted.
        """
        model = self._model
        oldest = (
            model.select(model.message_id)
            .where(model.ingested_at < before_us)
            .order_by(model.ingested_at)
            .limit(batch)
        )
        query = model.delete().where((model.ingested_at < before_us) & model.message_id.in_(oldest))
        with db.session(self.database, write=True):
            return query.execute()

    def purge_counts(self, before_minute: int) -> int:
        """Delete per-minute counts older than ``before_minute``."""
        model = self._counts
        with db.session(self.database, write=True):
            return model.delete().where(model.minute < before_minute).execute()

    def clear(self) -> int:
        """Delete every bounce (and the counts, the quarantine and the polls); return how many
        bounces there were."""
        self._pages.forget()
        with db.session(self.database, write=True):
            self._counts.delete().execute()
            self.codes.clear()
            self.polls.clear()
            self.quarantine.clear()
            return self._model.delete().execute()
