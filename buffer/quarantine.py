"""The quarantine table: bounces with a field the mapping could not read, and reports it could
not map at all (``unmapped``) (docs/spec.md §4); while the operator says so, acknowledged
reports too (``acknowledged``), so a mapping change can be tried on everything that came in.

Each is kept with its raw request and never served from here: ``smsbounce replay`` maps it
again — through a corrected profile, say — and stores what now maps, releasing it. The held
ones (all but ``acknowledged``) were answered to the provider as taken, and are counted and
shown. Every method may raise ``db.DatabaseUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from peewee import Database, fn

from . import db, models
from .keeping import ACKNOWLEDGED, BOUNDED, Usage


class Quarantine:
    def __init__(self, database: Database, stamp: Callable[[], object]):
        """``stamp`` gives the receive time to write: a value, or SQL for the database's clock
        (the store's one clock, docs/spec.md §4)."""
        self.database = database
        self._stamp = stamp
        self._model = models.bind(database, models.QuarantinedReport)

    def insert(self, entries: Iterable[tuple], provider: str) -> None:
        """Add entries — each with ``message_id``, ``type``, ``parameter`` and ``reason``
        (``providers.Quarantined``) — with their raw records; the caller holds the write
        transaction. A message id as found may be longer than any served one: cut."""
        rows = [
            {
                "provider": provider,
                "message_id": entry.message_id[:64],
                "type": entry.type,
                "parameter": entry.parameter[:100],
                "reason": entry.reason[:250],
                "received_at": self._stamp(),
                "raw_request": raw,
                "raw_bytes": len(raw),
            }
            for entry, raw in entries
        ]
        if rows:
            self._model.insert_many(rows).execute()

    def entries(
        self, *, provider: str | None = None, limit: int | None = None, held_only: bool = False
    ) -> list:
        """Kept entries, newest first; ``held_only``: not the acknowledged ones."""
        model = self._model
        query = model.select().order_by(model.received_at.desc(), model.id.desc())
        if provider:
            query = query.where(model.provider == provider)
        if held_only:
            query = query.where(model.type != ACKNOWLEDGED)
        if limit:
            query = query.limit(limit)
        with db.session(self.database):
            return list(query)

    def count(self, *, acknowledged: bool = False) -> int:
        """Held entries; with ``acknowledged``, the acknowledged ones kept instead."""
        model = self._model
        kept = model.type == ACKNOWLEDGED
        with db.session(self.database):
            query = model.select(fn.COUNT(model.id)).where(kept if acknowledged else ~kept)
            return query.scalar() or 0

    def usage(self) -> dict[str, Usage]:
        """What each bounded kind (``BOUNDED``) holds now."""
        model = self._model
        query = (
            model.select(
                model.type, fn.COUNT(model.id).alias("n"), fn.SUM(model.raw_bytes).alias("size")
            )
            .where(model.type.in_(BOUNDED))
            .group_by(model.type)
        )
        with db.session(self.database):
            return {row.type: Usage(int(row.n), int(row.size or 0)) for row in query}

    def held_since(self, since_us: int) -> dict[str, int]:
        """Held entries received at or after ``since_us``, by type."""
        model = self._model
        query = (
            model.select(model.type, fn.COUNT(model.id).alias("n"))
            .where((model.received_at >= since_us) & (model.type != ACKNOWLEDGED))
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
