"""The DI simulator's HTTP surface: DI's send API and the ``/_sim`` control API. Routes only."""

from __future__ import annotations

import json

from bottle import Bottle, HTTPResponse, parse_auth, request

from smsbounce.plumbing.web import basic_auth_user

from .ini import DIError, error_answer, order_answer, parse_send
from .settings import Settings
from .simulator import Simulator

HTML = "text/html; charset=utf-8"
WWW_AUTHENTICATE = 'Basic realm="Digital Interconnect simulator"'
MAX_WAIT = 60.0


def create_app(settings: Settings, simulator: Simulator | None = None) -> Bottle:
    """Build the simulator app; ``app.simulator`` holds the state (and its dispatcher threads,
    which the caller stops with ``app.simulator.close()``)."""
    simulator = simulator or Simulator(settings)
    app = Bottle()
    app.simulator = simulator

    @app.post("/cmn/<account>/<resource>")
    def send(account: str, resource: str):
        """DI's send API: 200 with ``ORDERID=…``; 401 (600F), 400 (6010, 6017-6019) or 503 (8000)
        with ``ERROR=<code>``; 404 for a path that is not ``/cmn/<account>/<account>.sms``."""
        if resource != f"{account}.sms":
            return HTTPResponse("Not Found\n", 404, content_type="text/plain; charset=utf-8")
        try:
            _authenticate(settings, account)
            order = parse_send(request.body.read(_BODY_LIMIT))
            order_id = simulator.accept(order)
        except DIError as error:
            if error.code != "8000":  # 8000 is counted where the scenario decides it
                simulator.count_refused(error.code)
            headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if error.code == "600F" else {}
            body = error_answer(error)
            return HTTPResponse(body, error.http_status, content_type=HTML, **headers)
        return HTTPResponse(order_answer(order_id), 200, content_type=HTML)

    @app.get("/_sim/messages")
    def messages():
        """Every accepted message: plan, report states, expected bounce (ground truth)."""
        return _json({"messages": simulator.messages()})

    @app.get("/_sim/reports")
    def reports():
        """Every delivery attempt: URL, answer, attempt number, result."""
        return _json({"attempts": simulator.reports()})

    @app.get("/_sim/profile")
    def profile():
        """The report format in use: request shape, and per DI code what is sent and stored."""
        return _json(simulator.profile())

    @app.get("/_sim/summary")
    def summary():
        """Totals and ``idle``; ``?wait=S`` first waits up to S seconds (≤ 60) for idleness."""
        raw = request.query.get("wait", "0")
        try:
            wait = float(raw)
        except ValueError:
            wait = -1.0
        if not 0 <= wait <= MAX_WAIT:
            return _json({"error": f"wait must be a number of seconds from 0 to {MAX_WAIT:g}"}, 400)
        if wait:
            simulator.wait_idle(wait)
        return _json(simulator.summary())

    return app


# Sized for 1,000 recipients and a long text; parse_send answers 6010 for anything larger.
_BODY_LIMIT = 256 * 1024 + 1


def _authenticate(settings: Settings, account: str) -> None:
    """600F unless basic auth is present and, when configured, matches user, password and the
    account in the path. Unconfigured, any credentials pass: DI never takes an anonymous send."""
    credentials = parse_auth(request.headers.get("Authorization", ""))
    if credentials is None:
        raise DIError("600F", "basic authentication is required")
    if settings.user is None:
        return
    user = basic_auth_user(
        request.headers.get("Authorization", ""), {settings.user: settings.password}
    )
    if user is None or account != user:
        raise DIError("600F", "wrong user, password or account")


def _json(document: dict, status: int = 200) -> HTTPResponse:
    return HTTPResponse(
        json.dumps(document, ensure_ascii=False, indent=1),
        status,
        content_type="application/json",
    )
