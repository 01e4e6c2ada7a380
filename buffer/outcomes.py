"""What became of the reports, counted for the status page and ``smsbounce providers codes``:
each verdict's outcome per minute (``outcome_counts``), and each provider's state and code with
what became of it per hour (``codes``).

Most reports (successes, intermediates, rejections) never touch the database, and must not start
to just to be counted. Each process therefore adds up verdicts in memory and writes them at most
every ``FLUSH_SECONDS`` — from the request that finds the interval over, when the status page is
drawn, and when a worker stops. A crash loses at most that many seconds of counts; the bounces
themselves are never at stake.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

from . import codes, polls
from .db import DatabaseUnavailable
from .verdicts import Taken

FLUSH_SECONDS = 5.0

log = logging.getLogger("smsbounce.buffer")


class OutcomeCounts:
    def __init__(self, store, clock: Callable[[], float] = time.time):
        self.store = store
        self._clock = clock
        self._pending: Counter[tuple[int, str]] = Counter()
        self._codes: Counter[tuple] = Counter()
        self._polls: dict[str, tuple[int, int]] = {}
        self._writer: threading.Thread | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._last_flush = clock()

    def observe(self, taken: Taken) -> None:
        """Count every verdict of one request."""
        self.observe_all((taken,))

    def observe_all(self, takens: Iterable[Taken]) -> None:
        """Count every verdict of these requests (the event loop's, one turn's at a time)."""
        now = self._clock()
        minute, hour = int(now // 60), int(now // 3600)
        with self._lock:
            pending, seen = self._pending, self._codes  # flush() swaps them under the lock
            for taken in takens:
                for verdict in taken.verdicts:
                    pending[(minute, verdict.counted)] += 1
                    key = codes.key_of(hour, taken.provider, verdict)
                    if key is not None:
                        if key not in seen and len(seen) >= codes.MAX_KEYS:
                            key = codes.other(key)
                        seen[key] += 1

    def poll(self, source_system: str | None, reach_us: int | None) -> None:
        """Marketing started a poll reading bounces ingested before ``reach_us`` (None: all)."""
        now_us = int(self._clock() * 1_000_000)
        with self._lock:
            self._polls[source_system or polls.NO_SOURCE_SYSTEM] = (
                now_us,
                now_us if reach_us is None else reach_us,
            )

    def start(self) -> None:
        """Write every ``FLUSH_SECONDS`` from a thread of this process (each of ``serve``'s
        workers), so what a worker saw reaches the database even when no request follows —
        the poll Marketing makes every quarter of an hour, say."""
        self._writer = threading.Thread(target=self._run, name="smsbounce-counts", daemon=True)
        self._writer.start()

    def stop(self) -> None:
        """End the thread, if any, and write what is left."""
        if self._writer is not None:
            self._stopped.set()
            self._writer.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stopped.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:  # a bug here must not end the counting for good
                log.exception("counts could not be written")

    def flush_if_due(self) -> None:
        if self._clock() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write what was counted; on a database failure keep it for the next attempt."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            seen, self._codes = self._codes, Counter()
            started, self._polls = self._polls, {}
            self._last_flush = self._clock()
        try:
            if pending:
                self.store.add_outcome_counts(dict(pending))
                pending = Counter()
            if seen:
                self.store.codes.add(dict(seen))
                seen = Counter()
            if started:
                self.store.polls.record(started)
        except DatabaseUnavailable as exc:
            log.warning("outcome counts not written yet: %s", exc)
            with self._lock:
                self._pending.update(pending)
                self._codes.update(seen)
                self._polls = {**started, **self._polls}
