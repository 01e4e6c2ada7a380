"""The buffer's errors. Each carries its HTTP status and the word ``/metrics`` counts a
rejected report under (``reason``), so one exception decides both (shape: plumbing.web).
"""

from __future__ import annotations

import logging

from smsbounce.plumbing.web import (
    BadRequest,
    HttpError,
    MethodNotAllowed,
    NotFound,
    router_error_handler,
)

RETRY_AFTER_SECONDS = 30
REALM = "smsbounce"  # of the Marketing user's basic authentication

log = logging.getLogger("smsbounce.buffer")

__all__ = [
    "BadSignature",
    "SignatureUnverifiable",
    "BodyTooLarge",
    "DatabaseUnavailable",
    "HttpError",
    "InvalidParameter",
    "MethodNotAllowed",
    "REALM",
    "QueryTooLong",
    "UnknownProvider",
    "UnknownToken",
    "UnmappedFull",
    "UnreadableBody",
    "UnsupportedMediaType",
    "router_error",
]


class InvalidParameter(BadRequest):
    """A request parameter is missing or malformed; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message, parameter)


class UnreadableBody(BadRequest):
    """The server could not decode the request's body (broken chunked framing, cut off)."""


class QueryTooLong(HttpError):
    status, reason = 414, "too_long"


class BodyTooLarge(HttpError):
    status, reason = 413, "too_large"


class UnsupportedMediaType(HttpError):
    status, reason = 415, "media_type"


class BadSignature(HttpError):
    """The provider's signature over the request does not verify."""

    status, reason = 403, "signature"


class SignatureUnverifiable(HttpError):
    """The signature could not be checked for a cause on our side (AWS's signing certificate
    could not be fetched): 503, so the provider retries instead of dropping the report."""

    status, reason = 503, "signature_unverifiable"

    def __init__(self, message: str):
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class UnmappedFull(HttpError):
    """A report the profile cannot map would pass the bound of those kept
    (``SMSBOUNCE_UNMAPPED_MAX_ENTRIES``, ``_MAX_BYTES``): nothing of the request is stored and
    the provider is told to retry, by when the operator may have fixed the profile and replayed
    what is kept."""

    status, reason = 503, "unmapped_full"

    def __init__(self, message: str):
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class UnknownToken(NotFound):
    """A missing or wrong ingest token: answered like a path that does not exist."""

    reason = "token"

    def __init__(self):
        super().__init__("no such endpoint")


class UnknownProvider(NotFound):
    reason = "unknown_provider"


class DatabaseUnavailable(HttpError):
    """The database did not answer in time or refused the work; nothing was written.

    The message is the cause, for logs and commands; the answer only says to retry, so the
    provider does and the report is not lost.
    """

    status, reason = 503, "database_unavailable"

    def __init__(self, message: str):
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    def told(self) -> str:
        return "the database is unavailable; nothing was stored, retry later"


router_error = router_error_handler(
    {
        404: "no such endpoint",
        405: "method not allowed",
        500: "internal error; the request was not processed",
    },
    log,
)
