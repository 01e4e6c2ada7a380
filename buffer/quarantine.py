"""The quarantine table: bounces with a field the mapping could not read (docs/spec.md §4).

Each is kept with its raw request, answered to the provider as taken, counted and shown, and
never served from here: ``smsbounce replay`` maps it again — through a corrected profile, say —
and stores what now maps, releasing it. Every method may raise ``db.DatabaseUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from peewee import Database, fn

from . import db, models
from .providers import Quarantined


class Quarantine:
    def __init__(self, database: Database, stamp: Callable[[], object]):
        """``stamp`` gives the receive time to write: a value, or SQL for the database's clock
        (the store's one clock, docs/spec.md §4)."""
        self.database = database
        self._stamp = stamp
        self._model = models.bind(database, models.QuarantinedReport)

    def insert(self, entries: Iterable[tuple[Quarantined, str]], provider: str) -> None:
        """Add entries (with their raw records); the caller holds the write transaction."""
        rows = [
            {
                "provider": provider,
                "message_id": entry.message_id,
                "type": entry.outcome.value,
                "parameter": entry.parameter[:100],
                "reason": entry.reason[:250],
                "received_at": self._stamp(),
                "raw_request": raw,
            }
            for entry, raw in entries
        ]
        if rows:
            self._model.insert_many(rows).execute()

    def entries(self, *, provider: str | None = None, limit: int | None = None) -> list:
        """Held entries, newest first."""
        model = self._model
        query = model.select().order_by(model.received_at.desc(), model.id.desc())
        if provider:
            query = query.where(model.provider == provider)
        if limit:
            query = query.limit(limit)
        with db.session(self.database):
            return list(query)

    def count(self) -> int:
        with db.session(self.database):
            return self._model.select(fn.COUNT(self._model.id)).scalar() or 0

    def held_since(self, since_us: int) -> dict[str, int]:
        """Entries received at or after ``since_us``, by type."""
        model = self._model
        query = (
            model.select(model.type, fn.COUNT(model.id).alias("n"))
            .where(model.received_at >= since_us)
            .group_by(model.type)
        )
        with db.session(self.database):
            return {row.type: row.n for row in query}

    def release(self, ids: Iterable[int]) -> int:
        """Remove entries whose bounce is now stored; return how many went."""
        ids = list(ids)
        if not ids:
            return 0
        with db.session(self.database, write=True):
            return self._model.delete().where(self._model.id.in_(ids)).execute()

    def purge(self, before_us: int) -> int:
        """Delete entries received before ``before_us`` (retention)."""
        model = self._model
        with db.session(self.database, write=True):
            return model.delete().where(model.received_at < before_us).execute()

    def clear(self) -> int:
        """Delete every entry; the caller holds the write transaction."""
        return self._model.delete().execute()
