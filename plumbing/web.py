"""The one JSON error shape (contracts/schemas/error.schema.json) and the Bottle pieces that
produce it, for every service.

``{"error": {"status": 400, "message": "msisdn is required", "parameter": "msisdn"}}``

An error is an exception that carries its status (datasette's habit): a route raises
``HttpError`` or a subclass, and ``JsonErrors`` turns it into the answer. What a service counts
or logs about an error it reads from the same exception (``reason``), not from a second table.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from hmac import compare_digest

from bottle import HTTPError, HTTPResponse, parse_auth, request, response

from .throttle import FailureThrottle, client_address


class HttpError(Exception):
    """An answer in the JSON error shape. ``reason`` is a short word for metrics and logs."""

    status = 500
    reason = "error"

    def __init__(
        self,
        message: str,
        parameter: str | None = None,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.parameter = parameter
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})

    def told(self) -> str:
        """What the answer says; the message (``str(self)``) is for logs and commands."""
        return str(self)

    def parts(self) -> tuple[int, list[tuple[str, str]], str]:
        """The answer as status, header fields and body (``response()`` for Bottle; the same
        for a server that answers without it)."""
        headers = {"Content-Type": "application/json", **self.headers}
        return (
            self.status,
            list(headers.items()),
            error_body(self.status, self.told(), self.parameter),
        )

    def response(self) -> HTTPResponse:
        status, headers, body = self.parts()
        return HTTPResponse(body, status=status, headers=dict(headers))


class BadRequest(HttpError):
    status, reason = 400, "invalid"


class Unauthorized(HttpError):
    status, reason = 401, "unauthorized"


class NotFound(HttpError):
    status, reason = 404, "not_found"


class TooManyRequests(HttpError):
    """Refused unchecked until ``retry_after`` seconds have passed (too many failed logins)."""

    status, reason = 429, "throttled"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class MethodNotAllowed(HttpError):
    status, reason = 405, "method"

    def __init__(self, allowed: tuple[str, ...], message: str = "method not allowed"):
        super().__init__(message, headers={"Allow": ", ".join(allowed)})


def error_body(status: int, message: str, parameter: str | None = None) -> str:
    error = {"status": status, "message": message}
    if parameter:
        error["parameter"] = parameter
    return json.dumps({"error": error})


def json_response(
    status: int,
    message: str,
    parameter: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTTPResponse:
    return HTTPResponse(
        error_body(status, message, parameter),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class JsonErrors:
    """Bottle plugin: what a route raises as ``HttpError`` becomes its JSON answer.

    ``on_error(exc)``, if given, sees every such error first (to log or flag it).
    """

    name = "json_errors"
    api = 2

    def __init__(self, on_error: Callable[[HttpError], None] | None = None):
        self.on_error = on_error

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            try:
                return callback(*args, **kwargs)
            except HttpError as exc:
                if self.on_error is not None:
                    self.on_error(exc)
                return exc.response()

        return wrapper


def router_error_handler(messages: Mapping[int, str], log: logging.Logger):
    """Bottle's own errors (unknown path, wrong method, uncaught exception) as JSON.

    They bypass plugins, so the body is serialised here; Bottle has already copied the error's
    status and headers (e.g. ``Allow``) onto the response. ``messages`` words them per status.
    """

    def handle(error: HTTPError) -> str:
        if error.status_code >= 500 and error.exception is not None:
            log.error("unhandled error", exc_info=error.exception)
        response.content_type = "application/json"
        return error_body(error.status_code, messages.get(error.status_code, error.status_line))

    return handle


# Compared against when the user is unknown, so the answer time does not reveal user names.
_NO_PASSWORD = b"\0" * 32


def basic_auth_user(authorization: str, passwords: Mapping[str, str]) -> str | None:
    """The user an ``Authorization: Basic`` header proves, or None; constant time per header."""
    name, password = parse_auth(authorization or "") or ("", "")
    expected = passwords.get(name)
    matches = compare_digest(
        password.encode(), expected.encode() if expected is not None else _NO_PASSWORD
    )
    return name if matches and expected is not None else None


class BasicAuth:
    """Basic authentication, as a Bottle plugin applied per route (``apply=[auth]``, bottle's
    ``auth_basic`` habit) or called where a service checks every request (``user()``).

    A client that failed ``throttle``'s budget is refused 429 with ``Retry-After``, unchecked
    (docs/security.md); a request without credentials is not a guess and spends nothing.
    """

    name = "basic_auth"
    api = 2

    def __init__(
        self,
        passwords: Mapping[str, str],
        realm: str,
        *,
        throttle: FailureThrottle | None = None,
        forwarded_hops: int = 0,
    ):
        self.passwords, self.throttle, self.forwarded_hops = passwords, throttle, forwarded_hops
        self.challenge = {"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"'}

    def user(self) -> str:
        """The user this request's credentials prove; 401 without valid ones, 429 when the
        client failed too often."""
        client = ""
        if self.throttle is not None:
            client = client_address(request.environ, self.forwarded_hops)
            wait = self.throttle.wait(client)
            if wait:
                raise TooManyRequests(f"too many failed logins; retry in {wait} s", wait)
        authorization = request.get_header("Authorization", "")
        name = basic_auth_user(authorization, self.passwords)
        if name is None:
            if authorization and self.throttle is not None:
                self.throttle.failed(client)
            raise Unauthorized("valid credentials are required", headers=self.challenge)
        return name

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            self.user()
            return callback(*args, **kwargs)

        return wrapper


# What no answer of ours needs a browser to do: cache it (credentials and bounces pass through),
# guess another content type, run or load anything, or show it inside another site's frame. The
# status page's only own resource is its inline style sheet.
SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
_SECURITY_NAMES = {name.lower() for name, _ in SECURITY_HEADERS}


class SecurityHeaders:
    """WSGI middleware: ``SECURITY_HEADERS`` on every answer (replacing any the app set)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if k.lower() not in _SECURITY_NAMES]
            return start_response(status, [*kept, *SECURITY_HEADERS], exc_info)

        return self.app(environ, start)


PASSWORD_MIN_LENGTH = 16
PASSWORD_MIN_DISTINCT = 8


def weak_password(password: str) -> str | None:
    """Why ``password`` is too weak to guard an endpoint on the internet, or None.

    Length is what makes guessing expensive; the distinct-character rule refuses a long run of
    one key or a short pattern repeated (``aaaa…``, ``abab…``).
    """
    if len(password) < PASSWORD_MIN_LENGTH or len(set(password)) < PASSWORD_MIN_DISTINCT:
        return (
            f"it must be at least {PASSWORD_MIN_LENGTH} characters long with at least "
            f"{PASSWORD_MIN_DISTINCT} different ones"
        )
    return None
