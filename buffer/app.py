"""The buffer's HTTP surface: routes only; parsing, mapping and storage live in their modules."""

from __future__ import annotations

import contextlib
import logging
from functools import cache

from bottle import Bottle, request, response

from smsbounce.contracts import openapi
from smsbounce.plumbing.throttle import FailureThrottle, client_address
from smsbounce.plumbing.web import JsonErrors, SecurityHeaders, TooManyRequests, basic_auth_user

from . import statuspage
from .clock import ClockWatch
from .errors import (
    DatabaseUnavailable,
    HttpError,
    MethodNotAllowed,
    UnknownProvider,
    credentials_required,
    router_error,
)
from .ingest import Ingest
from .logs import RequestLog
from .metrics import Metrics
from .migrations import MigrationError
from .outcomes import OutcomeCounts
from .providers import Profile, load_profiles
from .request_params import parse_query, parse_status_request
from .settings import Settings
from .store import Store

log = logging.getLogger("smsbounce.buffer")

INGEST = "/api/v1/notifications/set"
PROVIDER_REPORT = "/api/v1/providers/<name>/report"
STATUS = "/api/v1/notifications/get"
CLEAR = "/api/v1/notifications/clear"
METRICS = "/metrics"


class _Buffer(Bottle):
    """Bottle, with every request seen at the WSGI edge: request id, access log line, metrics
    (so even Bottle's own 404s and 500s are logged and counted with their real status), and the
    security headers on every answer. ``refused`` logs and counts what the HTTP server answered
    itself (``plumbing.serving.json_refusals``)."""

    def __init__(self, observe):
        super().__init__()
        self._log = RequestLog(SecurityHeaders(self._bottle), observe)
        self.refused = self._log.refused

    def _bottle(self, environ, start_response):
        # Bottle prints an uncaught exception's traceback to wsgi.errors as raw text, outside the
        # JSON log; router_error has logged it already, as one JSON line.
        environ["wsgi.errors"] = _DISCARD
        return self.wsgi(environ, start_response)

    def __call__(self, environ, start_response):
        return self._log(environ, start_response)


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
    metrics = Metrics(settings.metrics_dir, on_outcome=outcomes.add)
    app = _Buffer(metrics.observe_request)
    clock = ClockWatch(store, settings.settle_lag, on_offset=metrics.clock_offset.set)
    app.metrics, app.outcomes = metrics, outcomes
    store.observe_batches(metrics.batch_reports.observe)
    app.install(JsonErrors(on_error=_note_database_error))
    app.default_error_handler = router_error
    profiles = load_profiles(settings)
    pipeline = Ingest(settings, store)
    passwords = {settings.api_user: settings.api_password} if settings.api_password else {}
    throttle = FailureThrottle(settings.auth_failure_burst, settings.auth_failure_refill)

    def require_auth() -> None:
        """401 without valid credentials; 429 with Retry-After, unchecked, for a client that
        failed too often (docs/security.md). A request without credentials is not a guess."""
        client = client_address(request.environ, settings.forwarded_hops)
        wait = throttle.wait(client)
        if wait:
            raise TooManyRequests(f"too many failed logins; retry in {wait} s", wait)
        authorization = request.get_header("Authorization", "")
        if basic_auth_user(authorization, passwords) is None:
            if authorization:
                throttle.failed(client)
            raise credentials_required()

    def take(profile: Profile, token: str | None):
        taken = pipeline.take(profile, token)
        metrics.count_ingest(taken)
        outcomes.flush_if_due()
        if taken.error is not None:
            raise taken.error
        return taken.answer

    def ingest(token: str | None = None):
        """A Digital Interconnect report at the article's path. 200 once stored (or knowingly
        ignored); 400 names the bad parameter; 404 for a missing or wrong token; 503 when
        nothing could be stored."""
        return take(profiles["di"], token)

    def provider_report(name: str, token: str | None = None):
        """A report in provider ``name``'s own format; answered the way that provider expects."""
        profile = profiles.get(name)
        if profile is None:
            metrics.count_unknown_provider()
            raise UnknownProvider(f"no provider profile named {name!r}")
        if request.method not in profile.methods:
            raise MethodNotAllowed(profile.methods)
        return take(profile, token)

    app.route(INGEST, "GET", ingest)
    app.route(INGEST + "/<token>", "GET", ingest)
    app.route(PROVIDER_REPORT, ["GET", "POST"], provider_report)
    app.route(PROVIDER_REPORT + "/<token>", ["GET", "POST"], provider_report)

    @app.get(STATUS)
    def status():
        """One page of bounces in SAP Marketing's shape (docs/spec.md §2.1). 401 without
        credentials."""
        require_auth()
        query = parse_query(request.environ.get("QUERY_STRING", ""))
        wanted = parse_status_request(query, settings.max_window_days)
        page = store.page(wanted.page, wanted.window)
        metrics.served.inc(len(page.items))
        log.info(
            "status page=%d window=%s sourceSystem=%s items=%d lastPage=%s",
            wanted.page,
            "all" if wanted.window is None else "..".join(t.isoformat() for t in wanted.window),
            ascii(wanted.source_system),
            len(page.items),
            page.last_page,
        )
        return {"page": str(wanted.page), "lastPage": page.last_page, "status": page.items}

    @app.get("/openapi.json")
    def openapi_document():
        """The buffer's part of contracts/openapi.yaml, bundled into one document."""
        return _buffer_openapi()

    @app.get("/healthz")
    def healthz():
        """The process answers (no database, no auth): for liveness probes and benchmarks."""
        return {"status": "ok"}

    @app.get("/")
    def status_page():
        """The operators' page (HTML, same basic auth as ``get``); numbers are masked."""
        require_auth()
        response.content_type = "text/html; charset=utf-8"
        return statuspage.render(statuspage.build(store, outcomes))

    @app.get(METRICS)
    def prometheus():
        """Prometheus text format, every worker's counts; the same basic auth as ``get``."""
        require_auth()
        # The figures still answer without a database; the offset keeps its last value.
        with contextlib.suppress(DatabaseUnavailable):
            clock.measure()
        body, content_type = metrics.render()
        response.content_type = content_type
        return body

    @app.get("/readyz")
    def readyz():
        """The database answers, the table exists and every migration is applied; 503
        otherwise (no auth, no data). Says whose clock stamps ingest times and how far it is
        ahead of this instance's (docs/spec.md §4, one clock)."""
        try:
            store.check()
        except MigrationError as exc:
            raise HttpError(str(exc), status=503) from None
        return {
            "status": "ready",
            "ingestClock": store.ingest_clock,
            "clockOffsetSeconds": round(clock.measure(), 6),
        }

    if settings.enable_clear:

        @app.get(CLEAR)
        def clear():
            """Delete every bounce (tests only; the route exists only when enabled)."""
            require_auth()
            return {"deleted": store.clear()}

    return app


@cache
def _buffer_openapi() -> dict:
    document = openapi.openapi()
    document["paths"] = {
        path: operations
        for path, operations in document["paths"].items()
        if "servers" not in operations  # the CPI proxy's paths name their own server
    }
    return document


def _note_database_error(error: HttpError) -> None:
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable: %s", error)
        request.environ["smsbounce.database_error"] = True  # counted by buffer.metrics
