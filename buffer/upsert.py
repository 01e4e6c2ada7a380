"""Writing bounces: the stored row, built in one place, and the ranked upsert (docs/spec.md §4).

A bounce replaces the stored one for its message only if it is more significant: Temporary <
Permanent, ties by event time; an exact duplicate changes nothing. The winner gets a fresh
ingest time so the next poll serves the change. How each database runs the statement is its
backend's (``backends``): SQLite row by row, PostgreSQL a batch in one statement.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import EXCLUDED, SQL, Case, Database

from . import db
from .reports import Outcome, Report, Result

STORED, DUPLICATE, STALE = Result.STORED, Result.DUPLICATE, Result.STALE

# Bounces to store, as a request brings them: ([(report, raw record)], provider) per request.
Work = list[tuple[list[tuple[Report, str | None]], str]]


# A stored bounce's columns, named as the model's fields: the message id first (the statements
# tell rows apart by it), the ingest time last (where the database's clock takes its place when
# it stamps). A plain tuple: a named one cost 0.2 µs more per report on the batch path.
COLUMNS = (
    "message_id",
    "recipient",
    "status_code",
    "status_text",
    "type",
    "timestamp",
    "provider",
    "raw_report",
    "ingested_at",
)


def row(report: Report, provider: str, raw: str | None, ingested_at: int | None) -> tuple:
    """The one place a bounce becomes a row (``COLUMNS``), whichever statement writes it."""
    return (
        report.message_id,
        report.recipient,
        report.status_code,
        report.status_text,
        report.outcome.value,
        report.timestamp,
        provider,
        raw,
        ingested_at,
    )


class Upsert:
    def __init__(self, database: Database, model, clock: Callable[[], int] | None):
        """``clock`` gives each row's ingest time; None: the database's clock stamps each row
        as it is inserted."""
        self._database, self._model, self.clock = database, model, clock
        # Built on first use: peewee spends more CPU building a statement than the database
        # running it.
        self._statements: dict[bool, object] = {}

    def write(self, work: Work, budget: db.Budget, *, ranked: bool = True) -> list[list[Result]]:
        """Upsert each request's bounces (in the caller's transaction); each one's results, in
        order, as if the requests had been stored one after the other. ``ranked=False``
        replaces whatever was stored."""
        statement = self.statement(ranked)
        results = [[STORED] * len(reports) for reports, _ in work]
        for batch in rounds(work):
            kept = statement.run(self.rows(batch), budget)
            for j, k, report, _, _ in batch:
                if report.message_id in kept:
                    results[j][k] = ignored(report, *kept[report.message_id])
        return results

    def rows(self, batch: list[tuple]) -> list[tuple]:
        """The rows of one round (``rounds``), each stamped by ``clock`` unless the database
        stamps them."""
        clock = self.clock
        return [
            row(report, provider, raw, clock() if clock else None)
            for _, _, report, raw, provider in batch
        ]

    def statement(self, ranked: bool = True):
        """The backend's statement (``backends``) for the ranked upsert, or the replacing one;
        built once."""
        made = self._statements.get(ranked)
        if made is not None:
            return made
        model, backend = self._model, db.backend(self._database)
        fields = [getattr(model, name) for name in COLUMNS]
        update = {field: getattr(EXCLUDED, field.column_name) for field in fields}
        conflict = {"conflict_target": [model.message_id], "update": update}
        if ranked:
            incoming, current = _rank(getattr(EXCLUDED, "type")), _rank(model.type)  # noqa: B009
            later = getattr(EXCLUDED, "timestamp") > model.timestamp  # noqa: B009
            conflict["where"] = (incoming > current) | ((incoming == current) & later)
        stamp_sql = None if self.clock else backend.clock_sql
        made = backend.upsert(self._database, model, fields, conflict, stamp_sql)
        self._statements[ranked] = made
        return made


def rounds(work: Work) -> list[list[tuple]]:
    """The bounces as (request, position, report, raw, provider) in statements' rounds.

    ON CONFLICT DO UPDATE may touch a row only once per statement, so the n-th report of one
    message goes into the n-th round: each finds the row as the reports before it left it.
    """
    rounds: list[list[tuple]] = []
    seen: dict[str, int] = {}
    for j, (reports, provider) in enumerate(work):
        for k, (report, raw) in enumerate(reports):
            n = seen[report.message_id] = seen.get(report.message_id, -1) + 1
            if n == len(rounds):
                rounds.append([])
            rounds[n].append((j, k, report, raw, provider))
    return rounds


def _rank(type_column):
    # Written into the statement, not bound: our own constants, and a parameter less for the
    # client to quote on every batch.
    return Case(type_column, ((SQL(f"'{Outcome.PERMANENT.value}'"), SQL("2")),), SQL("1"))


def ignored(report: Report, kept_type: str, kept_timestamp: str) -> Result:
    """Why ``report`` changed nothing: an exact duplicate of the stored bounce, or stale."""
    same_rank = (kept_type == Outcome.PERMANENT.value) == (report.outcome is Outcome.PERMANENT)
    return DUPLICATE if same_rank and kept_timestamp == report.timestamp else STALE
