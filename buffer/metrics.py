"""Prometheus metrics with the official client (``/metrics``, text exposition format).

Under ``smsbounce serve`` every worker process counts in its own memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered by any worker, adds them all up
(``multiprocess`` mode). That variable must be set before ``prometheus_client`` is imported,
which is why ``serve`` imports the app only after preparing the directory. Without it (tests,
one process) each app counts in a registry of its own.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import singledispatchmethod

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .clock import ClockReading
from .db import DatabaseUnavailable
from .logs import ENDPOINT, Answered
from .polls import Polling
from .reports import Result
from .retention import Purge, PurgeFailed
from .store import Page
from .verdicts import Taken

# Every label takes its value from a closed set, so no client can invent series: the route's rule
# or "unmatched", a configured provider or "unknown", these methods or "other" (RFC 9110's).
METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)
OTHER_METHOD = "other"
UNMATCHED = "unmatched"
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1000)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, multiprocess_dir: str | None = None):
        self.multiprocess_dir = multiprocess_dir
        self.registry = registry = CollectorRegistry()
        self.received = Counter(
            "smsbounce_reports_received",
            "Delivery reports received (each report of a batch counts).",
            ["provider"],
            registry=registry,
        )
        self.stored = Counter(
            "smsbounce_reports_stored",
            "Bounces stored, new or replacing a weaker or older one, by type.",
            ["provider", "type"],
            registry=registry,
        )
        self.ignored = Counter(
            "smsbounce_reports_ignored",
            "Reports acknowledged without storing: success, intermediate, duplicate, stale "
            "(weaker or older than the stored bounce).",
            ["provider", "reason"],
            registry=registry,
        )
        self.rejected = Counter(
            "smsbounce_reports_rejected",
            "Reports not taken: invalid, token, signature, method, too_large, too_long, "
            "media_type, unknown_provider, database_unavailable, signature_unverifiable, "
            "unmapped_full (the provider retries those three).",
            ["provider", "reason"],
            registry=registry,
        )
        self.quarantined = Counter(
            "smsbounce_reports_quarantined",
            "Reports kept in the quarantine: bounces with a field the mapping could not read (no "
            "recipient, say), and reports it could not map at all (type unmapped). Answered as "
            "taken, not served until `smsbounce replay` maps them.",
            ["provider", "type"],
            registry=registry,
        )
        self.served = Counter(
            "smsbounce_bounces_served",
            "Bounces returned to Marketing by /api/v1/notifications/get.",
            registry=registry,
        )
        self.database_errors = Counter(
            "smsbounce_database_errors",
            "Requests or jobs that found the database unavailable.",
            ["operation"],
            registry=registry,
        )
        self.latency = Histogram(
            "smsbounce_request_duration_seconds",
            "Time to answer a request, by route.",
            ["endpoint", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.responses = Counter(
            "smsbounce_http_responses",
            "Answers by route and HTTP status.",
            ["endpoint", "status"],
            registry=registry,
        )
        self.batch_reports = Histogram(
            "smsbounce_store_batch_reports",
            "Reports (bounces and quarantined ones) per transaction: group commit's batches.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.purged = Counter(
            "smsbounce_bounces_purged",
            "Bounces deleted by retention.",
            registry=registry,
        )
        # Set by the worker that measured last (at a scrape or a readiness probe).
        self.clock_offset = Gauge(
            "smsbounce_clock_offset_seconds",
            "How far the clock that stamps ingest times (the database's on PostgreSQL) is "
            "ahead of this instance's clock; 0 on SQLite, where it is this host's clock.",
            multiprocess_mode="livemostrecent",
            registry=registry,
        )
        self._by_result = {
            Result.STORED: self.stored,
            Result.QUARANTINED: self.quarantined,
            Result.DUPLICATE: self.ignored,
            Result.STALE: self.ignored,
            Result.ACKNOWLEDGED: self.ignored,
            Result.REJECTED: self.rejected,
        }
        # Set at a scrape from the polls table (buffer/polls.py), like the clock offset.
        self.poll_age = Gauge(
            "smsbounce_marketing_poll_age_seconds",
            "Seconds since Marketing last started a poll, per sourceSystem.",
            ["source_system"],
            multiprocess_mode="livemostrecent",
            registry=registry,
        )
        self.waiting = Gauge(
            "smsbounce_bounces_waiting",
            "Bounces ingested beyond the last window Marketing read, per sourceSystem.",
            ["source_system"],
            multiprocess_mode="livemostrecent",
            registry=registry,
        )
        self.oldest_waiting = Gauge(
            "smsbounce_bounces_waiting_oldest_seconds",
            "Age of the oldest bounce beyond the last window Marketing read (0: none waits).",
            ["source_system"],
            multiprocess_mode="livemostrecent",
            registry=registry,
        )
        # Each labelled series by (metric, label values): prometheus_client's labels() checks
        # and locks on every call. Every label value comes from a closed set, so this stays
        # small.
        self._series: dict[tuple, object] = {}
        # singledispatchmethod builds a new wrapper at every attribute access (Python 3.11),
        # once per request or more, and its dispatcher makes a weak reference at every lookup:
        # dispatched here, each type's handler found once.
        self._handlers: dict[type, object] = {}
        self.observe = lambda event: self._handler(type(event))(self, event, _AT_ONCE)

    def observe_all(self, events) -> None:
        """``observe`` of every event, each series written once with what they add up to: the
        event loop counts the answers of one turn together. In multiprocess mode every write is
        one to a memory-mapped file, with a lock and a ``getpid`` (five per report, about a
        sixth of the loop's CPU per report; docs/benchmarks.md)."""
        tally = _Tally()
        for event in events:
            self._handler(type(event))(self, event, tally)
        tally.write()

    def _handler(self, kind: type):
        handler = self._handlers.get(kind)
        if handler is None:
            handler = self._handlers[kind] = vars(Metrics)["observe"].dispatcher.dispatch(kind)
        return handler

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type; in multiprocess mode, every worker's."""
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    @singledispatchmethod
    def observe(self, event, to=None) -> None:
        """Count what a part of the buffer did, from the result it hands over: a request's
        verdicts, a page served, an answer given, a purge, a clock reading, a database error.
        Every part is wired to the metrics this one way. (``to``: where the counts go, for the
        handlers below; callers leave it out.)"""
        raise TypeError(f"nothing is counted from a {type(event).__name__}")

    @observe.register
    def _verdicts(self, taken: Taken, to) -> None:
        """Every report the request carried is received, then stored or quarantined by type,
        ignored or rejected by reason."""
        provider = taken.provider
        to.inc(self._of(self.received, provider), len(taken.verdicts))
        for verdict in taken.verdicts:
            to.inc(self._of(self._by_result[verdict.result], provider, verdict.reason))

    @observe.register
    def _page(self, page: Page, to) -> None:
        to.inc(self.served, len(page.items))

    @observe.register
    def _answered(self, answered: Answered, to) -> None:
        """Once per request (``logs.RequestLog``); the endpoint is the route's rule, so a token
        in the path never becomes a label, and a made-up method is ``other``."""
        endpoint = answered.environ.get(ENDPOINT)
        if endpoint is None:
            route = answered.environ.get("bottle.route")
            endpoint = route.rule if route is not None else UNMATCHED
        method = answered.environ.get("REQUEST_METHOD", "")
        method = method if method in METHODS else OTHER_METHOD
        to.observe(self._of(self.latency, endpoint, method), answered.seconds)
        to.inc(self._of(self.responses, endpoint, answered.status))

    @observe.register
    def _database_error(self, error: DatabaseUnavailable, to) -> None:
        """A request found the database unavailable (its answer: 503)."""
        to.inc(self._of(self.database_errors, "request"))

    @observe.register
    def _purge(self, done: Purge, to) -> None:
        to.inc(self.purged, done.deleted)

    @observe.register
    def _purge_failed(self, failed: PurgeFailed, to) -> None:
        to.inc(self._of(self.database_errors, "purge"))

    @observe.register
    def _polling(self, polling: Polling, to) -> None:
        for state in polling.states:
            shown = polling.now_us
            self.poll_age.labels(state.source_system).set((shown - state.polled_at_us) / 1e6)
            self.waiting.labels(state.source_system).set(state.waiting)
            oldest = state.oldest_waiting_us
            age = 0 if oldest is None else (shown - oldest) / 1e6
            self.oldest_waiting.labels(state.source_system).set(age)

    @observe.register
    def _clock(self, reading: ClockReading, to) -> None:
        self.clock_offset.set(reading.offset)

    def _of(self, metric, *values: str):
        """``metric.labels(*values)``, made once per series."""
        key = (metric, values)
        series = self._series.get(key)
        if series is None:
            # Two threads may both get here; labels() hands both the same series.
            series = self._series[key] = metric.labels(*values)
        return series


class _AtOnce:
    """Counts written as they come (``Metrics.observe``)."""

    @staticmethod
    def inc(series, amount: float = 1) -> None:
        series.inc(amount)

    @staticmethod
    def observe(series, value: float) -> None:
        series.observe(value)


_AT_ONCE = _AtOnce()


class _Tally:
    """Counts added up per series, then written once each (``Metrics.observe_all``)."""

    def __init__(self):
        self._added: dict = {}
        self._observed: dict = {}

    def inc(self, series, amount: float = 1) -> None:
        self._added[series] = self._added.get(series, 0) + amount

    def observe(self, series, value: float) -> None:
        self._observed.setdefault(series, []).append(value)

    def write(self) -> None:
        for series, amount in self._added.items():
            series.inc(amount)
        for series, values in self._observed.items():
            observe_many(series, values)


def observe_many(series, values: list[float]) -> None:
    """``series.observe(value)`` for each of ``values`` (a histogram's series), each bucket and
    the sum written once. prometheus_client has no call for that; its histogram keeps a value
    per bucket and one for the sum, read here, or each value observed alone if a version keeps
    them otherwise. tests/buffer/test_metrics.py holds the exposition equal to one ``observe``
    per value."""
    bounds = getattr(series, "_upper_bounds", None)
    buckets = getattr(series, "_buckets", None)
    total = getattr(series, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:
            series.observe(value)
        return
    added: dict[int, int] = {}
    for value in values:
        # The first bound the value is at or under, as Histogram.observe picks it (none: NaN).
        at = bisect_left(bounds, value)
        if at < len(bounds) and value <= bounds[at]:
            added[at] = added.get(at, 0) + 1
    total.inc(sum(values))
    for at, count in added.items():
        buckets[at].inc(count)
