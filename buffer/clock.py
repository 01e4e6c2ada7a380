"""Watching the one clock (docs/spec.md §4): how far this instance's clock is from the one that
stamps ingest times, and a warning when that is more than half the settle lag.

On PostgreSQL the database stamps every ingest time and tells every "now" a window depends on,
so an instance's own clock no longer decides which window a report lands in. Its offset is
still worth watching: a host that far off means time synchronisation is broken where the
buffer runs, and Marketing's clock — which the buffer cannot see — must stay within the lag of
the database's. On SQLite the ingest clock is the host's own: the offset is 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

log = logging.getLogger("smsbounce.clock")

WARN_EVERY_S = 60.0  # a readiness probe every few seconds must not flood the log


class ClockReading(NamedTuple):
    offset: float  # seconds the ingest clock is ahead of this instance's


class ClockWatch:
    """Measures ``store.clock_offset()``; tells ``observe`` every ``ClockReading`` and logs a
    warning (at most once a minute) while it exceeds half the settle lag."""

    def __init__(
        self,
        store,
        settle_lag: float,
        observe: Callable[[ClockReading], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.limit = settle_lag / 2
        self.settle_lag = settle_lag
        self._observe = observe or (lambda reading: None)
        self._monotonic = monotonic
        self._warned_at: float | None = None
        self._lock = threading.Lock()

    def measure(self) -> float:
        """The offset in seconds (ingest clock minus this instance's); may raise
        ``db.DatabaseUnavailable``."""
        offset = self.store.clock_offset()
        self._observe(ClockReading(offset))
        if abs(offset) > self.limit and self._warning_due():
            log.warning(
                "this instance's clock is %.3f s %s the database's, more than half the settle "
                "lag (%g s): ingest times come from the database, but check the time "
                "synchronisation (NTP) of this host, and that Marketing's clock is within "
                "the settle lag of the database's",
                abs(offset),
                "behind" if offset > 0 else "ahead of",
                self.settle_lag,
            )
        return offset

    def _warning_due(self) -> bool:
        with self._lock:
            now = self._monotonic()
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY_S:
                return False
            self._warned_at = now
            return True
