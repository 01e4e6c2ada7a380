"""Every query of the buffer: the ranked upsert, the windowed pages, clear (SPEC §4)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from peewee import EXCLUDED, Case, Database

from . import db, models
from .mapping import Outcome, Report, to_status_item

STORED, IGNORED = "stored", "ignored"


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _now_micros() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class Page:
    items: list[dict[str, str]]
    last_page: bool


class Store:
    """The bounces of one database. Every method may raise ``db.DatabaseUnavailable``."""

    def __init__(
        self,
        database: Database,
        *,
        page_size: int = 100,
        settle_lag: float = 30.0,
        clock: Callable[[], int] = _now_micros,
    ):
        self.database = database
        self.page_size = page_size
        self.settle_lag_us = int(settle_lag * 1_000_000)
        self._clock = clock
        self._model = models.bind(database)

    @classmethod
    def open(cls, settings, clock: Callable[[], int] = _now_micros) -> Store:
        return cls(
            db.connect(settings.database_url, settings.db_timeout),
            page_size=settings.page_size,
            settle_lag=settings.settle_lag,
            clock=clock,
        )

    def create_tables(self) -> None:
        with db.session(self.database):
            self.database.create_tables([self._model], safe=True)

    def check(self) -> None:
        """Raise DatabaseUnavailable unless the database answers and the table exists."""
        with db.session(self.database):
            self._model.select().limit(1).execute()

    def close(self) -> None:
        self.database.close_all()

    def save(self, report: Report, *, provider: str = "di", raw: str | None = None) -> str:
        """Store one bounce; see ``save_all``."""
        return self.save_all([(report, raw)], provider=provider)[0]

    def save_all(self, reports: list[tuple[Report, str | None]], *, provider: str) -> list[str]:
        """Store bounces in one transaction; STORED or IGNORED for each, in order.

        A bounce replaces the stored one for its message only if it is more significant:
        Temporary < Permanent, ties by event time; an exact duplicate changes nothing. The
        winner gets a fresh ingest time so the next poll serves the change. Each upsert is one
        statement, so concurrent workers cannot interleave; all are committed before this
        returns, or none is.
        """
        model = self._model
        results = []
        with db.session(self.database, write=True):
            for report, raw in reports:
                if not report.is_bounce:
                    raise ValueError("only bounces are stored")
                results.append(self._upsert(model, report, provider, raw))
        return results

    def _upsert(self, model, report: Report, provider: str, raw: str | None) -> str:
        # Taken inside the transaction: on SQLite after the write lock is held.
        row = {
            model.message_id: report.message_id,
            model.recipient: report.recipient,
            model.status_code: report.status_code,
            model.status_text: report.status_text,
            model.type: report.outcome.value,
            model.timestamp: report.timestamp,
            model.ingested_at: self._clock(),
            model.provider: provider,
            model.raw_report: raw,
        }
        incoming, current = _rank(getattr(EXCLUDED, "type")), _rank(model.type)  # noqa: B009
        later = getattr(EXCLUDED, "timestamp") > model.timestamp  # noqa: B009
        query = model.insert(row).on_conflict(
            conflict_target=[model.message_id],
            update={field: getattr(EXCLUDED, field.column_name) for field in row},
            where=(incoming > current) | ((incoming == current) & later),
        )
        return STORED if self.database.execute(query).rowcount else IGNORED

    def page(self, number: int, window: tuple[datetime, datetime] | None = None) -> Page:
        """Page ``number`` (from 0) of the bounces ingested in ``window``, or of all of them.

        A window [start, end) selects ingest times in [start − lag, end − lag): a report that
        commits late still lands in a window that has not been polled yet.
        """
        model = self._model
        query = model.select().order_by(model.ingested_at, model.message_id)
        if window is not None:
            start, end = (_micros(moment) - self.settle_lag_us for moment in window)
            query = query.where((model.ingested_at >= start) & (model.ingested_at < end))
        # One extra row tells whether another page follows, without counting the window.
        query = query.limit(self.page_size + 1).offset(number * self.page_size)
        with db.session(self.database):
            rows = list(query)
        return Page(
            items=[to_status_item(row) for row in rows[: self.page_size]],
            last_page=len(rows) <= self.page_size,
        )

    def clear(self) -> int:
        """Delete every bounce; return how many there were."""
        with db.session(self.database, write=True):
            return self._model.delete().execute()


def _rank(type_column):
    return Case(type_column, ((Outcome.PERMANENT.value, 2),), 1)
