"""What each provider's states and codes became, and by which rule of its profile: the answer to
"which of my provider's codes are soft and which hard?" (``smsbounce providers codes``, the
status page). Every worker counts in memory (``outcomes.OutcomeCounts``) and adds its counts
here per UTC hour; reads sum every worker's and instance's. Every method may raise
``db.DatabaseUnavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import EXCLUDED, Database, fn

from . import db, models
from .reports import Result
from .verdicts import Verdict

FIELD_MAX = 40
# Distinct state/code combinations one worker keeps between two writes. The values come from
# unauthenticated requests: beyond this many, new ones are counted together as OTHER.
MAX_KEYS = 500
OTHER = "(other)"
KEPT_HOURS = 35 * 24

# What a Marketing user or an operator calls each outcome.
CLASSIFIED = {
    "Temporary": "soft bounce",
    "Permanent": "hard bounce",
    "delivered": "acknowledged (delivered)",
    "intermediate": "acknowledged (in progress)",
}


@dataclass(frozen=True)
class CodeCount:
    provider: str
    state: str
    code: str
    outcome: str
    quarantined: bool  # a bounce with a field the mapping could not read
    rule: str
    count: int

    @property
    def classified(self) -> str:
        """``soft bounce``, ``hard bounce``, ``acknowledged (…)``; ``quarantined (…)``."""
        words = CLASSIFIED.get(self.outcome, self.outcome)
        return f"quarantined ({words})" if self.quarantined else words

    def as_json(self) -> dict:
        return {
            "provider": self.provider,
            "state": self.state,
            "code": self.code,
            "count": self.count,
            "classified": self.classified,
            "rule": self.rule,
        }


def key_of(hour: int, provider: str, verdict: Verdict) -> tuple | None:
    """The counting key of a verdict whose report says how it was classified; None otherwise
    (a rejected report was never classified)."""
    seen = getattr(verdict.report, "seen", None)
    if seen is None:
        return None
    outcome = verdict.report.outcome.value
    return (
        hour,
        provider,
        seen.state[:FIELD_MAX],
        seen.code[:FIELD_MAX],
        outcome,
        verdict.result.value,
        seen.rule,
    )


def other(key: tuple) -> tuple:
    """``key`` with its state and code lumped together (``MAX_KEYS``)."""
    hour, provider, _, _, outcome, result, rule = key
    return (hour, provider, OTHER, OTHER, outcome, result, rule)


class ReportCodes:
    def __init__(self, database: Database):
        self.database = database
        self._model = models.bind(database, models.ReportCode)

    def add(self, counts: dict[tuple, int]) -> None:
        """Add ``{key_of(...): n}``, in one transaction."""
        model = self._model
        columns = ("hour", "provider", "state", "code", "outcome", "result", "rule")
        target = [getattr(model, c) for c in columns]
        with db.session(self.database, write=True):
            for key, n in sorted(counts.items()):
                model.insert(**dict(zip(columns, key, strict=True)), count=n).on_conflict(
                    conflict_target=target,
                    update={model.count: model.count + getattr(EXCLUDED, "count")},  # noqa: B009
                ).execute()

    def seen(self, since_hour: int, provider: str | None = None) -> list[CodeCount]:
        """Every state and code seen from ``since_hour`` on, summed, most frequent first."""
        model = self._model
        groups = (model.provider, model.state, model.code, model.outcome, model.result, model.rule)
        n = fn.SUM(model.count)
        query = model.select(*groups, n.alias("n")).where(model.hour >= since_hour)
        if provider:
            query = query.where(model.provider == provider)
        query = query.group_by(*groups).order_by(model.provider, n.desc(), model.state, model.code)
        with db.session(self.database):
            rows = list(query)
        # A duplicate or stale bounce was classified like the stored one: one row for both.
        summed: dict[tuple, int] = {}
        for r in rows:
            held = r.result == Result.QUARANTINED.value
            key = (r.provider, r.state, r.code, r.outcome, held, r.rule)
            summed[key] = summed.get(key, 0) + int(r.n)
        found = [CodeCount(*key, n) for key, n in summed.items()]
        return sorted(found, key=lambda c: (c.provider, -c.count, c.state, c.code))

    def purge(self, before_hour: int) -> int:
        with db.session(self.database, write=True):
            return self._model.delete().where(self._model.hour < before_hour).execute()

    def clear(self) -> None:
        """Delete every row; the caller holds the write transaction."""
        self._model.delete().execute()
