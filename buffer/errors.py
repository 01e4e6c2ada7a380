"""The one JSON error shape (contracts/schemas/error.schema.json) and what maps onto it.

``{"error": {"status": 400, "message": "msisdn is required", "parameter": "msisdn"}}``
"""

from __future__ import annotations

import json
import logging

from bottle import HTTPError, HTTPResponse, request, response

from .db import DatabaseUnavailable
from .reports import InvalidParameter
from .request_params import QueryTooLong

RETRY_AFTER_SECONDS = 30

log = logging.getLogger("smsbounce.buffer")

_ROUTER_MESSAGES = {
    404: "no such endpoint",
    405: "method not allowed",
    500: "internal error; the request was not processed",
}


def error_body(status: int, message: str, parameter: str | None = None) -> str:
    error = {"status": status, "message": message}
    if parameter:
        error["parameter"] = parameter
    return json.dumps({"error": error})


def json_error(
    status: int, message: str, parameter: str | None = None, headers: dict | None = None
) -> HTTPResponse:
    return HTTPResponse(
        error_body(status, message, parameter),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def json_errors(callback):
    """Bottle plugin: turn what a route raises into the JSON error answer."""

    def wrapper(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except InvalidParameter as exc:
            return json_error(400, str(exc), exc.parameter)
        except QueryTooLong as exc:
            return json_error(414, str(exc))
        except DatabaseUnavailable as exc:
            log.warning("database unavailable: %s", exc)
            request.environ["smsbounce.database_error"] = True  # counted by buffer.metrics
            # Nothing was acknowledged: the provider retries and the report is not lost.
            return json_error(
                503,
                "the database is unavailable; nothing was stored, retry later",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )

    return wrapper


def router_error(error: HTTPError) -> str:
    """Bottle's own errors (unknown path, wrong method, uncaught exception) as JSON.

    They bypass plugins, so the body is serialised here; Bottle has already copied the error's
    status and headers (e.g. ``Allow``) onto the response.
    """
    if error.status_code >= 500 and error.exception is not None:
        log.error("unhandled error", exc_info=error.exception)
    message = _ROUTER_MESSAGES.get(error.status_code, error.status_line)
    response.content_type = "application/json"
    return error_body(error.status_code, message)
