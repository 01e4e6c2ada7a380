"""Whether Marketing still polls: when it last started a poll, per ``sourceSystem``, and how
many bounces wait beyond the last window it read. The first sign that CPI's status iFlow broke
is that polls stop while bounces pile up (docs/operations.md, "Is Marketing still polling?").
Polls are noted in memory (``outcomes.OutcomeCounts.poll``) and written with the counts, so a
poll never waits for the write lock. Every method may raise ``db.DatabaseUnavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from peewee import EXCLUDED, Case, Database, fn

from . import db, models

NO_SOURCE_SYSTEM = ""  # a poll that named none


@dataclass(frozen=True)
class PollState:
    source_system: str
    polled_at_us: int
    read_until_us: int
    waiting: int  # bounces ingested at or after read_until: no poll has read them yet
    oldest_waiting_us: int | None

    def as_json(self, now_us: int) -> dict:
        return {
            "sourceSystem": self.source_system,
            "secondsSinceLastPoll": round((now_us - self.polled_at_us) / 1e6, 3),
            "bouncesWaiting": self.waiting,
            "oldestWaitingSeconds": (
                None
                if self.oldest_waiting_us is None
                else round((now_us - self.oldest_waiting_us) / 1e6, 3)
            ),
        }


class Polling(NamedTuple):
    """What the polls table says at one moment (for the metrics and the probes)."""

    states: list[PollState]
    now_us: int


class MarketingPolls:
    def __init__(self, database: Database, notifications):
        """``notifications``: the bound model of the bounces."""
        self.database = database
        self._model = models.bind(database, models.MarketingPoll)
        self._bounces = notifications

    def record(self, polls: dict[str, tuple[int, int]]) -> None:
        """``{sourceSystem: (polled at, reach)}``, in µs: polls Marketing started, each reading
        bounces ingested before its reach. A poll of an older window does not move it back."""
        model = self._model
        # EXCLUDED names columns as the table does.
        new_polled_at, new_reach = EXCLUDED.polledAt, EXCLUDED.readUntil
        kept = Case(None, [(model.read_until > new_reach, model.read_until)], new_reach)
        latest = Case(None, [(model.polled_at > new_polled_at, model.polled_at)], new_polled_at)
        with db.session(self.database, write=True):
            for source_system, (polled_at, reach) in sorted(polls.items()):
                model.insert(
                    source_system=source_system, polled_at=polled_at, read_until=reach
                ).on_conflict(
                    conflict_target=[model.source_system],
                    update={model.polled_at: latest, model.read_until: kept},
                ).execute()

    def now(self, now_us: int) -> Polling:
        return Polling(self.states(), now_us)

    def states(self) -> list[PollState]:
        """Every source system that polled, most recently polled first."""
        bounces = self._bounces
        with db.session(self.database):
            polls = list(self._model.select().order_by(self._model.polled_at.desc()))
            found = []
            for poll in polls:
                waiting, oldest = (
                    bounces.select(fn.COUNT(bounces.message_id), fn.MIN(bounces.ingested_at))
                    .where(bounces.ingested_at >= poll.read_until)
                    .tuples()
                    .get()
                )
                found.append(
                    PollState(poll.source_system, poll.polled_at, poll.read_until, waiting, oldest)
                )
        return found

    def clear(self) -> None:
        """Delete every row; the caller holds the write transaction."""
        self._model.delete().execute()
