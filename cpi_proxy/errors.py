"""CPI's failed-exchange text, and the proxy's wording of the router's errors (JSON shape in
``smsbounce.plumbing.web``)."""

from __future__ import annotations

import logging
import secrets
import string

from bottle import HTTPResponse

from smsbounce.plumbing.web import json_response, router_error_handler

log = logging.getLogger("smsbounce.cpi_proxy")

_ROUTER_MESSAGES = {
    404: "no such address on this tenant",
    405: "method not allowed on this address",
    500: "internal error; the message was not processed",
}
_MPL_ALPHABET = string.ascii_letters + string.digits


def failed_exchange(detail: str) -> HTTPResponse:
    """HTTP 500 with the text CPI answers when an exchange fails (docs/spec.md §2.4), including the
    message processing log (MPL) id that the log line carries too, so the two can be matched."""
    mpl_id = "AG" + "".join(secrets.choice(_MPL_ALPHABET) for _ in range(26))
    log.warning("exchange failed, MPL ID %s: %s", mpl_id, detail)
    # "occured" is CPI's spelling; clients that grep for CPI's text find it.
    message = (
        f"An internal server error occured: {detail}.\n"
        f"The MPL ID for the failed message is : {mpl_id}\n"
        "For more details please check tail log."
    )
    return json_response(500, message)


router_error = router_error_handler(_ROUTER_MESSAGES, log)
