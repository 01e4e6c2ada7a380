"""Structured logs: one JSON object per line, one line per request (docs/spec.md §5).

Secrets never reach a log: the query string is not logged at all, the token segment of an ingest
path is replaced, configured tokens and passwords are redacted wherever they appear, phone numbers
are masked unless ``SMSBOUNCE_LOG_PHONE_NUMBERS`` is set, and control characters are escaped (JSON
escapes C0 controls; DEL and C1 controls are escaped here).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

ACCESS_LOGGER = "smsbounce.access"
REQUEST_ID_HEADER = "X-Request-Id"

# An incoming request id is echoed only if it is short and harmless; otherwise a new one is made.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A path that carries a capability token after its fixed part (docs/spec.md §5).
_TOKEN_PATH = re.compile(r"^(/api/v1/notifications/set|/api/v1/providers/[^/]*/report)/[^/]+")
# Phone numbers as the buffer stores them (E.164 with +), and number-carrying fields.
_PHONE = re.compile(r"\+[0-9]{6,15}(?![0-9])")
PHONE_FIELDS = frozenset({"recipient", "msisdn", "to", "from", "phone"})
_UNSAFE = re.compile(r"[\x7f-\x9f]")
REDACTED = "[redacted]"


def mask_number(number: str) -> str:
    """``+4915112345678`` → ``+49*********78``: enough to tell numbers apart, not to call them."""
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def mask_numbers(text: str) -> str:
    return _PHONE.sub(lambda match: mask_number(match.group(0)), text)


def redact_path(path: str) -> str:
    """The path as it may be logged: the token segment of an ingest path replaced."""
    return _TOKEN_PATH.sub(lambda match: match.group(1) + "/" + REDACTED, path)


def request_id(incoming: str | None) -> str:
    """Echo the caller's ``X-Request-Id`` if it is safe to, else make one."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", …fields}`` on one line.

    Fields come from ``extra={"fields": {...}}``. ``secrets`` are replaced by ``[redacted]``
    wherever they occur; phone numbers are masked unless ``show_numbers``.
    """

    def __init__(self, *, secrets: Iterable[str] = (), show_numbers: bool = False):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)
        self.show_numbers = show_numbers

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, timezone.utc)
        entry = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in getattr(record, "fields", {}).items():
            entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps({k: self._clean(k, v) for k, v in entry.items()}, ensure_ascii=True)

    def _clean(self, name: str, value):
        if not isinstance(value, str):
            return value
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        if not self.show_numbers:
            value = mask_number(value) if name in PHONE_FIELDS else mask_numbers(value)
        return _UNSAFE.sub(lambda match: f"\\u{ord(match.group(0)):04x}", value)


def configure(*, secrets: Iterable[str] = (), show_numbers: bool = False) -> dict:
    """Send every log record to stderr as JSON; return the same as a ``logging`` dictConfig (for
    gunicorn's ``logconfig_dict``, so its own messages are JSON too)."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": JsonFormatter,
                "secrets": tuple(secrets),
                "show_numbers": show_numbers,
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
    logging.config.dictConfig(config)
    return config


Observer = Callable[[dict, str, float], None]


class RequestLog:
    """WSGI middleware: a request id for every request (echoed as ``X-Request-Id``), one access
    log line when the answer is ready, and ``observe(environ, status, seconds)`` for metrics."""

    def __init__(self, app, observe: Observer | None = None):
        self.app = app
        self.observe = observe
        self.log = logging.getLogger(ACCESS_LOGGER)

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        rid = request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["smsbounce.request_id"] = rid
        seen = {"status": "500"}

        def start(status, headers, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            return start_response(status, [*headers, (REQUEST_ID_HEADER, rid)], exc_info)

        try:
            return self.app(environ, start)
        finally:
            seconds = time.perf_counter() - started
            if self.observe is not None:
                self.observe(environ, seen["status"], seconds)
            self.log.info(
                "%s %s %s",
                environ.get("REQUEST_METHOD", ""),
                redact_path(environ.get("PATH_INFO", "")),
                seen["status"],
                extra={
                    "fields": {
                        "method": environ.get("REQUEST_METHOD", ""),
                        "path": redact_path(environ.get("PATH_INFO", "")),
                        "status": int(seen["status"]),
                        "duration_ms": round(seconds * 1000, 3),
                        "request_id": rid,
                        "remote_addr": environ.get("REMOTE_ADDR", ""),
                    }
                },
            )
