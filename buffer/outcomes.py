"""Report outcomes per minute, for the status page's "last hour / last day" counts.

Most reports (successes, intermediates, rejections) never touch the database, and must not start
to just to be counted. Each process therefore adds up outcomes in memory and writes them to
``outcome_counts`` at most every ``FLUSH_SECONDS`` — from the request that finds the interval
over, when the status page is drawn, and when a worker stops. A crash loses at most that many
seconds of counts; the bounces themselves are never at stake.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from .db import DatabaseUnavailable

FLUSH_SECONDS = 5.0

log = logging.getLogger("smsbounce.buffer")


class OutcomeCounts:
    def __init__(self, store, clock: Callable[[], float] = time.time):
        self.store = store
        self._clock = clock
        self._pending: Counter[tuple[int, str]] = Counter()
        self._lock = threading.Lock()
        self._last_flush = clock()

    def add(self, outcome: str, n: int = 1) -> None:
        with self._lock:
            self._pending[(int(self._clock() // 60), outcome)] += n

    def flush_if_due(self) -> None:
        if self._clock() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write what was counted; on a database failure keep it for the next attempt."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._last_flush = self._clock()
        if not pending:
            return
        try:
            self.store.add_outcome_counts(dict(pending))
        except DatabaseUnavailable as exc:
            log.warning("outcome counts not written yet: %s", exc)
            with self._lock:
                self._pending.update(pending)
