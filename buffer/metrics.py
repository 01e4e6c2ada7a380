"""Prometheus metrics with the official client (``/metrics``, text exposition format).

Under ``smsbounce serve`` every gunicorn worker counts in its own memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered by any worker, adds them all up
(``multiprocess`` mode). That variable must be set before ``prometheus_client`` is imported,
which is why ``serve`` imports the app only after preparing the directory. Without it (tests,
one process) each app counts in a registry of its own.
"""

from __future__ import annotations

from contextlib import contextmanager

from bottle import HTTPResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from .db import DatabaseUnavailable
from .providers import Rejected
from .reports import InvalidParameter, Outcome
from .request_params import QueryTooLong

# Why a report was not taken, from the answer it got.
REJECTED_BY_STATUS = {
    400: "invalid",
    403: "signature",
    404: "token",
    405: "method",
    413: "too_large",
    414: "too_long",
    415: "media_type",
}
IGNORED_BY_OUTCOME = {Outcome.DELIVERED: "success", Outcome.INTERMEDIATE: "intermediate"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, multiprocess_dir: str | None = None, on_outcome=None):
        self.multiprocess_dir = multiprocess_dir
        # Told every outcome as "stored:Permanent", "ignored:stale", "rejected:token", …
        self.on_outcome = on_outcome or (lambda outcome, n=1: None)
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
            "media_type, unknown_provider, database_unavailable (the provider retries).",
            ["provider", "reason"],
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
        self.purged = Counter(
            "smsbounce_bounces_purged",
            "Bounces deleted by retention.",
            registry=registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type; in multiprocess mode, every worker's."""
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def observe_request(self, environ: dict, status: str, seconds: float) -> None:
        """Called once per request by ``logs.RequestLog``; the endpoint is the route's rule, so
        a token in the path never becomes a label."""
        route = environ.get("bottle.route")
        endpoint = route.rule if route is not None else "unmatched"
        self.latency.labels(endpoint, environ.get("REQUEST_METHOD", "")).observe(seconds)
        self.responses.labels(endpoint, status).inc()
        if environ.get("smsbounce.database_error"):
            self.database_errors.labels("request").inc()

    @contextmanager
    def ingest(self, provider: str):
        """Count one ingest request: ``tally.parsed(items)`` once its reports are known,
        ``tally.outcome(item, result)`` per report answered."""
        tally = _Tally(self, provider)
        try:
            yield tally
        except Exception as exc:
            tally.failed(_reason(exc))
            raise
        else:
            tally.received()


class _Tally:
    def __init__(self, metrics: Metrics, provider: str):
        self.metrics, self.provider = metrics, provider
        self.items: list | None = None

    def parsed(self, items: list) -> None:
        self.items = items

    def outcome(self, item, result: str) -> None:
        m, provider = self.metrics, self.provider
        if isinstance(item, Rejected):
            m.rejected.labels(provider, "invalid").inc()
            m.on_outcome("rejected:invalid")
        elif result == "stored":
            m.stored.labels(provider, item.outcome.value).inc()
            m.on_outcome(f"stored:{item.outcome.value}")
        else:
            reason = (
                result if result in ("duplicate", "stale") else IGNORED_BY_OUTCOME[item.outcome]
            )
            m.ignored.labels(provider, reason).inc()
            m.on_outcome(f"ignored:{reason}")

    def received(self) -> None:
        self.metrics.received.labels(self.provider).inc(len(self.items) if self.items else 1)

    def failed(self, reason: str) -> None:
        """The request was answered with an error: every report it carried is rejected."""
        self.received()
        for item in self.items or [None]:
            why = "invalid" if isinstance(item, Rejected) else reason
            self.metrics.rejected.labels(self.provider, why).inc()
            self.metrics.on_outcome(f"rejected:{why}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, HTTPResponse):
        return REJECTED_BY_STATUS.get(exc.status_code, str(exc.status_code))
    if isinstance(exc, InvalidParameter):
        return "invalid"
    if isinstance(exc, QueryTooLong):
        return "too_long"
    if isinstance(exc, DatabaseUnavailable):
        return "database_unavailable"
    return "error"
