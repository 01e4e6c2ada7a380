"""The buffer's HTTP surface: routes only; parsing, mapping and storage live in their modules."""

from __future__ import annotations

import json
import logging
from functools import cache
from hmac import compare_digest

from bottle import Bottle, parse_auth, request, response

from smsbounce.contracts import openapi

from . import statuspage
from .errors import json_error, json_errors, router_error
from .logs import RequestLog
from .metrics import Metrics
from .migrations import MigrationError
from .outcomes import OutcomeCounts
from .providers import Incoming, Profile, Rejected, load_profiles
from .reports import InvalidParameter, Report
from .request_params import (
    MAX_BODY_BYTES,
    MAX_FORM_FIELDS,
    parse_pairs,
    parse_query,
    parse_status_request,
    to_params,
)
from .settings import Settings
from .store import STORED, Store

log = logging.getLogger("smsbounce.buffer")

INGEST = "/api/v1/notifications/set"
PROVIDER_REPORT = "/api/v1/providers/<name>/report"
STATUS = "/api/v1/notifications/get"
CLEAR = "/api/v1/notifications/clear"
METRICS = "/metrics"
WWW_AUTHENTICATE = 'Basic realm="smsbounce", charset="UTF-8"'


class _Buffer(Bottle):
    """Bottle, with every request seen at the WSGI edge: request id, access log line, metrics
    (so even Bottle's own 404s and 500s are logged and counted with their real status)."""

    def __init__(self, observe):
        super().__init__()
        self._edge = RequestLog(super().__call__, observe)

    def __call__(self, environ, start_response):
        return self._edge(environ, start_response)


def create_app(settings: Settings, store: Store | None = None) -> Bottle:
    """Build the buffer. ``store`` defaults to one opened from ``settings.database_url``.

    Opens no connection: the schema is migrated by ``smsbounce serve`` (``buffer.migrations``).
    """
    store = store or Store.open(settings)
    outcomes = OutcomeCounts(store)
    metrics = Metrics(settings.metrics_dir, on_outcome=outcomes.add)
    app = _Buffer(metrics.observe_request)
    app.metrics, app.outcomes = metrics, outcomes
    app.install(json_errors)
    app.default_error_handler = router_error

    profiles = load_profiles(settings)

    def take(profile: Profile, token: str | None):
        """Check the capability and the provider's signature, map, store, answer."""
        with metrics.ingest(profile.name) as tally:
            incoming = _incoming(settings)
            if settings.ingest_tokens or token is not None:
                _require_token(settings.ingest_tokens, token or incoming.token)
            problem = profile.authenticate(incoming)
            if problem:
                raise json_error(403, problem)
            parsed = profile.parse(incoming)
            tally.parsed(parsed)
            answer = _answer(profile, parsed, store, tally)
        outcomes.flush_if_due()
        return answer

    def ingest(token: str | None = None):
        """A Digital Interconnect report at the article's path. 200 once stored (or knowingly
        ignored); 400 names the bad parameter; 404 for a missing or wrong token; 503 when
        nothing could be stored."""
        return take(profiles["di"], token)

    def provider_report(name: str, token: str | None = None):
        """A report in provider ``name``'s own format; answered the way that provider expects."""
        profile = profiles.get(name)
        if profile is None:
            # Not labelled with the name: a caller must not be able to invent metric series.
            metrics.rejected.labels("unknown", "unknown_provider").inc()
            raise json_error(404, f"no provider profile named {name!r}")
        if request.method not in profile.methods:
            raise json_error(
                405, "method not allowed", headers={"Allow": ", ".join(profile.methods)}
            )
        return take(profile, token)

    app.route(INGEST, "GET", ingest)
    app.route(INGEST + "/<token>", "GET", ingest)
    app.route(PROVIDER_REPORT, ["GET", "POST"], provider_report)
    app.route(PROVIDER_REPORT + "/<token>", ["GET", "POST"], provider_report)

    @app.get(STATUS)
    def status():
        """One page of bounces in SAP Marketing's shape (SPEC §2.1). 401 without credentials."""
        _require_auth(settings)
        wanted = parse_status_request(_query(), settings.max_window_days)
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
        _require_auth(settings)
        response.content_type = "text/html; charset=utf-8"
        return statuspage.render(statuspage.build(store, outcomes))

    @app.get(METRICS)
    def prometheus():
        """Prometheus text format, every worker's counts; the same basic auth as ``get``."""
        _require_auth(settings)
        body, content_type = metrics.render()
        response.content_type = content_type
        return body

    @app.get("/readyz")
    def readyz():
        """The database answers, the table exists and every migration is applied; 503
        otherwise (no auth, no data)."""
        try:
            store.check()
        except MigrationError as exc:
            raise json_error(503, str(exc)) from None
        return {"status": "ready"}

    if settings.enable_clear:

        @app.get(CLEAR)
        def clear():
            """Delete every bounce (tests only; the route exists only when enabled)."""
            _require_auth(settings)
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


def _query() -> dict[str, str]:
    return parse_query(request.environ.get("QUERY_STRING", ""))


def _incoming(settings: Settings) -> Incoming:
    """The request as a profile sees it; bounded like the query (SPEC §5)."""
    query = _query()
    token = query.pop("token", None)  # a capability: never stored or logged
    form, raw_form, body = {}, (), None
    if request.method == "POST":
        raw = _body()
        kind = (request.content_type or "").split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                raise InvalidParameter("", "the body is not valid JSON") from None
        elif kind in ("application/x-www-form-urlencoded", ""):
            raw_form = tuple(parse_pairs(raw, MAX_FORM_FIELDS, "form body"))
            form = to_params(list(raw_form))
        else:
            raise json_error(415, f"unsupported content type {kind!r}; send form or JSON")
    url = request.url
    if settings.public_url:
        query_string = request.environ.get("QUERY_STRING", "")
        url = settings.public_url + request.path + ("?" + query_string if query_string else "")
    return Incoming(
        method=request.method,
        url=url,
        query=query,
        token=token,
        form=form,
        json=body,
        headers={name.lower(): value for name, value in request.headers.items()},
        raw_form=raw_form,
    )


def _body() -> bytes:
    """The request body, refused with 413 beyond the limit before it is read into memory.

    Read straight from the server rather than through Bottle, which spools large bodies to
    temporary files.
    """
    length = request.content_length
    if length > MAX_BODY_BYTES:
        raise json_error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    stream = request.environ["wsgi.input"]
    raw = stream.read(length) if length >= 0 else stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise json_error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    return raw


def _answer(profile: Profile, parsed: list, store: Store, tally):
    """Store the bounces of one request in one transaction; answer per report.

    A single-report request that was rejected is a 400 naming the field; a batch answers 200
    with a result per report unless none could be taken.
    """
    rejected = [item for item in parsed if isinstance(item, Rejected)]
    if rejected and (not profile.batch or len(rejected) == len(parsed)):
        # Refused before the database is touched: bad input is a 400 even during an outage.
        first = rejected[0]
        prefix = "" if not profile.batch else "no report could be taken: "
        raise json_error(400, prefix + str(first), first.parameter)
    bounces = [r for r in parsed if isinstance(r, Report) and r.is_bounce]
    stored = iter(store.save_all([(r, r.raw) for r in bounces], provider=profile.name))
    results = []
    for item in parsed:
        if isinstance(item, Rejected):
            error = {"status": 400, "message": str(item)}
            if item.parameter:
                error["parameter"] = item.parameter
            results.append({"error": error})
        else:
            result = next(stored) if item.is_bounce else "acknowledged"
            tally.outcome(item, result)
            if result != STORED and item.is_bounce:
                result = "ignored"  # duplicate or stale: the provider need not know which
            results.append({"result": result, "messageId": item.message_id})
    for item in rejected:
        tally.outcome(item, None)
    if profile.answer.body is not None:
        response.status = profile.answer.status
        response.content_type = profile.answer.content_type
        return profile.answer.body
    return {"results": results} if profile.batch else results[0]


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
