"""Retention: delete old bounces in small batches, never one that a window can still serve.

Marketing polls windows of at most ``SMSBOUNCE_MAX_WINDOW_DAYS``, shifted back by the settle lag
(docs/spec.md §4); a window that ends now therefore reaches back ``max window + settle lag``. A
bounce is
purged only when it is older than both the retention asked for and that reach, so no poll of a
window that includes the present can miss it. Each batch is its own short transaction, so
reports keep being stored while a purge runs.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import codes
from .db import DatabaseUnavailable

BATCH = 1000
DAY_US = 86_400 * 1_000_000
# The status page shows counts of the last day; keep a little more.
COUNTS_KEPT_MINUTES = 2 * 24 * 60

log = logging.getLogger("smsbounce.retention")


@dataclass(frozen=True)
class Purge:
    deleted: int
    batches: int
    kept_days: float  # the age actually applied (never below the pollable reach)
    before_us: int  # bounces ingested before this were deleted


@dataclass(frozen=True)
class PurgeFailed:
    """A scheduled purge found the database unavailable; the next one tries again."""

    error: DatabaseUnavailable


def pollable_days(settings) -> float:
    """How far back a window that includes the present can reach."""
    return settings.max_window_days + settings.settle_lag / 86_400


def explain(settings) -> str:
    """What retention does with these settings, in one sentence for operators: said at start,
    in every scheduled purge's log line and on the status page."""
    asked = settings.retention_days
    if asked is None:
        return "bounces are kept until purged by hand (SMSBOUNCE_RETENTION_DAYS is not set)"
    reach = pollable_days(settings)
    kept = (
        f"bounces are kept {asked:g} days"
        if asked >= reach
        else (
            f"bounces are kept {reach:g} days, not the {asked:g} of SMSBOUNCE_RETENTION_DAYS: "
            f"a poll window can reach that far back (SMSBOUNCE_MAX_WINDOW_DAYS "
            f"{settings.max_window_days} + the settle lag) and no bounce is purged before a "
            "poll could read it; lower SMSBOUNCE_MAX_WINDOW_DAYS to keep them shorter"
        )
    )
    when = (
        f"purged every {settings.purge_interval:g} s"
        if settings.purge_interval
        else "purged by `smsbounce purge` (SMSBOUNCE_PURGE_INTERVAL is not set)"
    )
    return f"{kept}; {when}"


def purge(store, settings, older_than_days: float, *, now_us: int | None = None, batch=BATCH):
    """Delete bounces, and quarantined reports, older than ``older_than_days`` (raised to the
    pollable reach)."""
    # Ages are measured on the clock that stamped the ingest times (docs/spec.md §4, one clock).
    now_us = store.now_us() if now_us is None else now_us
    kept_days = max(older_than_days, pollable_days(settings))
    before_us = now_us - int(kept_days * DAY_US)
    deleted = batches = 0
    while True:
        n = store.purge(before_us, batch)
        deleted, batches = deleted + n, batches + 1
        if n < batch:
            break
    store.purge_counts(now_us // 60_000_000 - COUNTS_KEPT_MINUTES)
    store.codes.purge(now_us // 3_600_000_000 - codes.KEPT_HOURS)
    # Held bounces go at the same age: the raw requests they keep hold phone numbers too.
    store.quarantine.purge(before_us)
    return Purge(deleted=deleted, batches=batches, kept_days=kept_days, before_us=before_us)


class Schedule:
    """Purge every ``settings.purge_interval`` seconds in a daemon thread (one per worker; the
    purges of several workers or instances overlap harmlessly: batches are idempotent)."""

    def __init__(self, store, settings, observe: Callable[[object], None] = lambda event: None):
        self.store, self.settings, self.observe = store, settings, observe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smsbounce-purge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = self.settings.purge_interval
        # Jitter, so the workers of one instance do not all purge at the same moment.
        delay = random.uniform(0, min(interval, 60))  # noqa: S311 - not security relevant
        while not self._stop.wait(delay):
            delay = interval
            try:
                done = purge(self.store, self.settings, self.settings.retention_days)
            except DatabaseUnavailable as exc:
                log.warning("purge failed, will retry: %s", exc)
                self.observe(PurgeFailed(exc))
                continue
            self.observe(done)
            log.info(
                "scheduled purge: %d %s deleted; %s",
                done.deleted,
                "bounce" if done.deleted == 1 else "bounces",
                explain(self.settings),
                extra={"fields": {"deleted": done.deleted, "kept_days": done.kept_days}},
            )
