"""The buffer's HTTP surface: routes only; parsing, mapping and storage live in their modules."""

from __future__ import annotations

import json
import logging
from hmac import compare_digest

from bottle import Bottle, parse_auth, request

from .errors import json_error, json_errors, router_error
from .mapping import map_di_report
from .query import parse_query, parse_status_request
from .settings import Settings
from .store import Store

log = logging.getLogger("smsbounce.buffer")

INGEST = "/api/v1/notifications/set"
STATUS = "/api/v1/notifications/get"
CLEAR = "/api/v1/notifications/clear"
WWW_AUTHENTICATE = 'Basic realm="smsbounce", charset="UTF-8"'


def create_app(settings: Settings, store: Store | None = None) -> Bottle:
    """Build the buffer. ``store`` defaults to one opened from ``settings.database_url``.

    Opens no connection: tables are created by ``smsbounce serve`` (``Store.create_tables``).
    """
    store = store or Store.open(settings)
    app = Bottle()
    app.install(json_errors)
    app.default_error_handler = router_error
    table, timezone = settings.status_table, settings.timezone

    def ingest(token: str | None = None):
        """A provider's delivery report. 200 once stored (or knowingly ignored); 400 names the
        bad parameter; 404 for a missing or wrong token; 503 when nothing could be stored."""
        params = _query()
        if settings.ingest_tokens or token is not None:
            _require_token(settings.ingest_tokens, token or params.get("token"))
        params.pop("token", None)  # a capability: never stored or logged
        report = map_di_report(params, table, timezone)
        if not report.is_bounce:
            return {"result": "acknowledged", "messageId": report.message_id}
        result = store.save(report, raw=json.dumps(params, ensure_ascii=False))
        return {"result": result, "messageId": report.message_id}

    app.route(INGEST, "GET", ingest)
    app.route(INGEST + "/<token>", "GET", ingest)

    @app.get(STATUS)
    def status():
        """One page of bounces in SAP Marketing's shape (SPEC §2.1). 401 without credentials."""
        _require_auth(settings)
        wanted = parse_status_request(_query(), settings.max_window_days)
        page = store.page(wanted.page, wanted.window)
        log.info(
            "status page=%d window=%s sourceSystem=%s items=%d lastPage=%s",
            wanted.page,
            "all" if wanted.window is None else "..".join(t.isoformat() for t in wanted.window),
            ascii(wanted.source_system),
            len(page.items),
            page.last_page,
        )
        return {"page": str(wanted.page), "lastPage": page.last_page, "status": page.items}

    @app.get("/healthz")
    def healthz():
        """The process answers (no database, no auth): for liveness probes and benchmarks."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """The database answers and the table exists; 503 otherwise (no auth, no data)."""
        store.check()
        return {"status": "ready"}

    if settings.enable_clear:

        @app.get(CLEAR)
        def clear():
            """Delete every bounce (tests only; the route exists only when enabled)."""
            _require_auth(settings)
            return {"deleted": store.clear()}

    return app


def _query() -> dict[str, str]:
    return parse_query(request.environ.get("QUERY_STRING", ""))


def _require_token(tokens: tuple[str, ...], given: str | None) -> None:
    # Compare against every token so the time taken does not tell which one nearly matched.
    given_bytes = (given or "").encode()
    matches = [compare_digest(given_bytes, token.encode()) for token in tokens]
    if given is None or not any(matches):
        raise json_error(404, "no such endpoint")


def _require_auth(settings: Settings) -> None:
    user, password = parse_auth(request.get_header("Authorization", "")) or ("", "")
    expected = settings.api_password
    valid = expected is not None and compare_digest(
        user.encode(), settings.api_user.encode()
    ) & compare_digest(password.encode(), expected.encode())
    if not valid:
        raise json_error(
            401, "valid credentials are required", headers={"WWW-Authenticate": WWW_AUTHENTICATE}
        )
