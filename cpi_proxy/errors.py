"""The one JSON error shape (contracts/schemas/error.schema.json), and CPI's failed-exchange text.

``{"error": {"status": 400, "message": "...", "parameter": "messages[0].recipient"}}``
"""

from __future__ import annotations

import json
import logging
import secrets
import string

from bottle import HTTPError, HTTPResponse, response

log = logging.getLogger("smsbounce.cpi_proxy")

_ROUTER_MESSAGES = {
    404: "no such address on this tenant",
    405: "method not allowed on this address",
    500: "internal error; the message was not processed",
}
_MPL_ALPHABET = string.ascii_letters + string.digits


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


def failed_exchange(detail: str) -> HTTPResponse:
    """HTTP 500 with the text CPI answers when an exchange fails (SPEC §2.4), including the
    message processing log (MPL) id that the log line carries too, so the two can be matched."""
    mpl_id = "AG" + "".join(secrets.choice(_MPL_ALPHABET) for _ in range(26))
    log.warning("exchange failed, MPL ID %s: %s", mpl_id, detail)
    # "occured" is CPI's spelling; clients that grep for CPI's text find it.
    message = (
        f"An internal server error occured: {detail}.\n"
        f"The MPL ID for the failed message is : {mpl_id}\n"
        "For more details please check tail log."
    )
    return json_error(500, message)


def router_error(error: HTTPError) -> str:
    """Bottle's own errors (unknown address, wrong method, uncaught exception) as JSON.

    They bypass plugins and hooks' return values, so the body is serialised here; Bottle has
    already copied the error's status and headers (e.g. ``Allow``) onto the response.
    """
    if error.status_code >= 500 and error.exception is not None:
        log.error("unhandled error", exc_info=error.exception)
    message = _ROUTER_MESSAGES.get(error.status_code, error.status_line)
    response.content_type = "application/json"
    return error_body(error.status_code, message)
