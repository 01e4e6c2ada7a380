"""Marketing's read: the bounces ingested in a window, page by page (docs/spec.md §4).

A window [start, end) selects ingest times in [start − lag, end − lag): a report that commits
late still lands in a window that has not been polled yet. Once the ingest clock has passed end
(so every row stamped before end − lag has committed), no row can enter the window any more, so
where its pages start is remembered and a deep page seeks there rather than skipping rows
(Marketing reads every page, in order). On PostgreSQL the database tells that moment with the
rows (the time the query arrived, before its snapshot), so the instances' clocks decide nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from peewee import SQL, Database, Tuple

from . import db
from .reports import to_status_item

MARKED_WINDOWS = 64  # settled windows whose page starts a process remembers


@dataclass(frozen=True)
class Page:
    items: list[dict[str, str]]
    last_page: bool


class Pages:
    def __init__(
        self,
        database: Database,
        model,
        *,
        size: int,
        settle_lag_us: int,
        clock: Callable[[], int],
        clock_sql: str | None,
    ):
        """``clock_sql``: the database's clock, read with the rows; None: ``clock`` tells
        whether a window has ended."""
        self.database, self._model = database, model
        self.size, self.settle_lag_us = size, settle_lag_us
        self._clock, self._clock_sql = clock, clock_sql
        # Settled window (shifted by the lag) -> {page: (ingest time, message id) of its first row}.
        self._marks: OrderedDict[tuple[int, int], dict[int, tuple[int, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, number: int, window: tuple[datetime, datetime] | None = None) -> Page:
        """Page ``number`` (from 0) of the bounces ingested in ``window``, or of all of them."""
        model = self._model
        query = model.select().order_by(model.ingested_at, model.message_id)
        shifted, skip, read_at = None, number, None
        if window is not None:
            start, end = shifted = self.span(window)
            lower = model.ingested_at >= start
            marks = self._marks_of(shifted, create=False)  # only an ended window has marks
            known = max((page for page in marks or () if page <= number), default=None)
            if known is not None:
                # The mark lies inside the window, so it replaces the lower bound: SQLite
                # seeks on a row value only when it is the sole lower bound.
                lower = Tuple(model.ingested_at, model.message_id) >= Tuple(*marks[known])
                skip = number - known
            query = query.where(lower & (model.ingested_at < end))
            if self._clock_sql:
                query = query.select_extend(SQL(self._clock_sql).alias("read_at"))
            else:
                read_at = self._clock()
        # One extra row tells whether another page follows, without counting the window.
        query = query.limit(self.size + 1).offset(skip * self.size)
        with db.session(self.database):
            rows = list(query)
        if shifted is not None and rows:
            read_at = rows[0].read_at if self._clock_sql else read_at
            if shifted[1] + self.settle_lag_us <= read_at:
                marks = self._marks_of(shifted)
                for page, found in ((number, rows[:1]), (number + 1, rows[self.size :])):
                    if found:
                        marks[page] = (found[0].ingested_at, found[0].message_id)
        return Page(
            items=[to_status_item(row) for row in rows[: self.size]],
            last_page=len(rows) <= self.size,
        )

    def span(self, window: tuple[datetime, datetime]) -> tuple[int, int]:
        """The ingest times [start, end), UTC microseconds, that ``window`` selects."""
        start, end = window
        return _micros(start) - self.settle_lag_us, _micros(end) - self.settle_lag_us

    def forget(self) -> None:
        """Drop every mark: the rows they point at are gone."""
        with self._lock:
            self._marks.clear()

    def _marks_of(self, window: tuple[int, int], create: bool = True):
        with self._lock:
            marks = self._marks.setdefault(window, {}) if create else self._marks.get(window)
            if marks is None:
                return None
            self._marks.move_to_end(window)
            while len(self._marks) > MARKED_WINDOWS:
                self._marks.popitem(last=False)
            return marks


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
