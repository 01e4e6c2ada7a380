"""``create_app(settings)``: the buffer assembled from its parts; the handlers live in
``ingest`` (reports in), ``pull`` (Marketing's page of bounces) and ``operator_routes``."""

from __future__ import annotations

import logging
from functools import partial

from bottle import Bottle

from smsbounce.plumbing.throttle import FailureThrottle
from smsbounce.plumbing.web import BasicAuth, JsonErrors, SecurityHeaders

from . import retention
from .clock import ClockWatch
from .errors import REALM, DatabaseUnavailable, HttpError, router_error
from .ingest import ReportRoutes
from .logs import RequestLog
from .metrics import Metrics
from .operator_routes import OperatorRoutes
from .outcomes import OutcomeCounts
from .providers import load_profiles
from .pull import PullRoute
from .settings import Settings
from .store import Store
from .verdicts import Taken

log = logging.getLogger("smsbounce.buffer")


class _Buffer(Bottle):
    """Bottle, with every request seen at the WSGI edge: request id, access log line, metrics
    (so even Bottle's own 404s and 500s are logged and counted with their real status), and the
    security headers on every answer. ``refused`` logs and counts what the HTTP server answered
    itself (``plumbing.serving.ObservesRefusals``)."""

    def __init__(self, observe):
        super().__init__()
        self.request_log = RequestLog(SecurityHeaders(self._bottle), observe)
        self.refused = self.request_log.refused

    def _bottle(self, environ, start_response):
        # Bottle prints an uncaught exception's traceback to wsgi.errors as raw text, outside the
        # JSON log; router_error has logged it already, as one JSON line.
        environ["wsgi.errors"] = _DISCARD
        return self.wsgi(environ, start_response)

    def __call__(self, environ, start_response):
        return self.request_log(environ, start_response)


class _Discard:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


_DISCARD = _Discard()


def create_app(settings: Settings, store: Store | None = None) -> Bottle:
    """Build the buffer. ``store`` defaults to one opened from ``settings.database_url``.

    Opens no connection: the schema is migrated by ``smsbounce serve`` (``buffer.migrations``).
    """
    store = store or Store.open(settings)
    outcomes = OutcomeCounts(store)
    metrics = Metrics(settings.metrics_dir)
    clock = ClockWatch(store, settings.settle_lag, observe=metrics.observe)
    store.observe_batches(metrics.batch_reports.observe)
    app = _Buffer(metrics.observe)
    app.metrics, app.outcomes = metrics, outcomes
    app.note_error = partial(_note_database_error, metrics.observe)
    app.install(JsonErrors(on_error=app.note_error))
    app.default_error_handler = router_error
    marketing = BasicAuth(
        {settings.api_user: settings.api_password} if settings.api_password else {},
        REALM,
        throttle=FailureThrottle(settings.auth_failure_burst, settings.auth_failure_refill),
        forwarded_hops=settings.forwarded_hops,
    )

    def on_taken(taken: Taken) -> None:
        metrics.observe(taken)
        outcomes.observe(taken)

    def observe_all(events: list) -> None:
        """``on_taken`` of each ``Taken`` and the metrics' ``observe`` of every event, each
        series written once (``logs.Turn``: the event loop's answers, one turn's at a time)."""
        metrics.observe_all(events)
        outcomes.observe_all(event for event in events if isinstance(event, Taken))

    app.observe_all = observe_all

    reports = ReportRoutes(
        settings, store, load_profiles(settings), on_taken, outcomes.flush_if_due
    )
    reports.install(app)
    app.reports = reports
    PullRoute(settings, store, metrics, outcomes).install(app, marketing)
    OperatorRoutes(
        store,
        metrics,
        outcomes,
        clock,
        retention_said=retention.explain(settings),
        enable_clear=settings.enable_clear,
    ).install(app, marketing)
    return app


def _note_database_error(observe, error: HttpError) -> None:
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable: %s", error)
        observe(error)
