"""What operators and their tools read: the status page, ``/metrics``, the probes, the OpenAPI
document, and the test-only clear."""

from __future__ import annotations

import contextlib
from functools import cache

from bottle import response

from smsbounce.contracts import openapi

from . import statuspage
from .clock import ClockWatch
from .errors import DatabaseUnavailable, HttpError
from .metrics import Metrics
from .migrations import MigrationError
from .outcomes import OutcomeCounts
from .store import Store

METRICS = "/metrics"
CLEAR = "/api/v1/notifications/clear"


class OperatorRoutes:
    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        outcomes: OutcomeCounts,
        clock: ClockWatch,
        *,
        retention_said: str = "",
        enable_clear: bool = False,
    ):
        """``retention_said``: what retention does (``retention.explain``), for the page."""
        self.store, self.metrics, self.outcomes, self.clock = store, metrics, outcomes, clock
        self.retention_said, self.enable_clear = retention_said, enable_clear

    def install(self, app, auth) -> None:
        app.route("/", "GET", self.status_page, apply=[auth])
        app.route(METRICS, "GET", self.prometheus, apply=[auth])
        app.route("/healthz", "GET", self.healthz)
        app.route("/readyz", "GET", self.readyz)
        app.route("/openapi.json", "GET", self.openapi_document)
        if self.enable_clear:  # the route exists only when enabled
            app.route(CLEAR, "GET", self.clear, apply=[auth])

    def status_page(self):
        """The operators' page (HTML, same basic auth as ``get``); numbers are masked."""
        response.content_type = "text/html; charset=utf-8"
        view = statuspage.build(self.store, self.outcomes, self.retention_said)
        return statuspage.render(view)

    def prometheus(self):
        """Prometheus text format, every worker's counts; the same basic auth as ``get``."""
        # The figures still answer without a database; the measured ones keep their last value.
        with contextlib.suppress(DatabaseUnavailable):
            self.clock.measure()
            self.metrics.observe(self.store.polls.now(self.store.now_us()))
        body, content_type = self.metrics.render()
        response.content_type = content_type
        return body

    def healthz(self):
        """The process answers (no database, no auth): for liveness probes and benchmarks."""
        return {"status": "ok"}

    def readyz(self):
        """The database answers, the table exists and every migration is applied; 503
        otherwise (no auth, no data). Says whose clock stamps ingest times and how far it is
        ahead of this instance's (docs/spec.md §4, one clock), and, per ``sourceSystem``,
        when Marketing last polled and how many bounces wait beyond what it read."""
        try:
            self.store.check()
        except MigrationError as exc:
            raise HttpError(str(exc), status=503) from None
        polling = self.store.polls.now(self.store.now_us())
        return {
            "status": "ready",
            "ingestClock": self.store.ingest_clock,
            "clockOffsetSeconds": round(self.clock.measure(), 6),
            "marketing": [state.as_json(polling.now_us) for state in polling.states],
        }

    def openapi_document(self):
        """The buffer's part of contracts/openapi.yaml, bundled into one document."""
        return _buffer_openapi()

    def clear(self):
        """Delete every bounce (tests only)."""
        return {"deleted": self.store.clear()}


@cache
def _buffer_openapi() -> dict:
    document = openapi.openapi()
    document["paths"] = {
        path: operations
        for path, operations in document["paths"].items()
        if "servers" not in operations  # the CPI proxy's paths name their own server
    }
    return document
