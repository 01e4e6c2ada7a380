"""Structured logs: one JSON object per line, one line per request (docs/spec.md §5).

Secrets never reach a log: a query string is cut from every line (the access log never writes
one; the HTTP server's own warnings quote the request line), the token segment of an ingest path
is replaced, configured tokens and passwords are redacted wherever they appear, phone numbers in
every form (``+49…``, ``0049…``, ``%2B49…``, bare digits) are masked unless
``SMSBOUNCE_LOG_PHONE_NUMBERS`` is set, and control characters are escaped (JSON escapes C0
controls; DEL and C1 controls are escaped here). All of it happens in the formatter, so it holds
for every logger, whichever HTTP server writes the lines.
"""

from __future__ import annotations

import json
import logging
import logging.config
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from itertools import groupby
from logging import StreamHandler
from operator import itemgetter
from typing import NamedTuple

from smsbounce.plumbing.wsgi_bridge import STARTED as BRIDGE_STARTED

ACCESS_LOGGER = "smsbounce.access"
REQUEST_ID_HEADER = "X-Request-Id"
# environ: the route rule of a request answered without Bottle (the event loop's intake), for
# the metrics' endpoint label; Bottle's own answers have theirs in "bottle.route".
ENDPOINT = "smsbounce.endpoint"

# An incoming request id is echoed only if it is short and harmless; otherwise a new one is made.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A path that carries a capability token after its fixed part (docs/spec.md §5).
_TOKEN_PATH = re.compile(r"^(/api/v1/notifications/set|/api/v1/providers/[^/]*/report)/[^/]+")
# A phone number in any form a line may carry it: international with +, 00 or a URL-encoded +
# (6 to 15 digits after it), or bare digits (8 to 15: shorter runs are counts, ports, pids). Not
# inside a longer run of letters and digits (request ids, hashes).
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|%2[Bb]|00)[0-9]{6,15}|[0-9]{8,15})(?![0-9A-Za-z])")
_PREFIX = re.compile(r"\+|%2[Bb]|00")
PHONE_FIELDS = frozenset({"recipient", "msisdn", "to", "from", "phone"})
# A query string after a path or URL, up to the next space or quote (a quoted request line).
_QUERY = re.compile(r"(/[^\s?#'\"]*)\?[^\s#'\"]+")
_UNSAFE = re.compile(r"[\x7f-\x9f]")
# Six digits in a row: the shortest number _PHONE masks (JsonFormatter._may_change).
_SIX_DIGITS = re.compile(r"[0-9]{6}")
REDACTED = "[redacted]"


def mask_number(number: str) -> str:
    """``+4915112345678`` → ``+49*********78``, ``004915…`` → ``0049…``, ``4915…`` → ``49…``: the
    prefix, the first two and the last two digits; enough to tell numbers apart, not to call
    them."""
    prefix = _PREFIX.match(number)
    lead = prefix.group(0) if prefix and len(number) > prefix.end() + 4 else ""
    digits = number[len(lead) :]
    if len(digits) <= 5:
        return lead + "*" * len(digits)
    return lead + digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


def mask_numbers(text: str) -> str:
    """Every phone number in ``text`` masked (``mask_number``), whatever its form."""
    return _PHONE.sub(lambda match: mask_number(match.group(0)), text)


def strip_queries(text: str) -> str:
    """Every query string in ``text`` (after a path or URL) replaced by ``[redacted]``."""
    return _QUERY.sub(lambda match: match.group(1) + "?" + REDACTED, text)


def redact_path(path: str) -> str:
    """The path as it may be logged: the token segment of an ingest path replaced."""
    match = _TOKEN_PATH.match(path)  # anchored: one match at most, at the start
    return path if match is None else match.group(1) + "/" + REDACTED + path[match.end() :]


class _RandomBytes:
    """``os.urandom`` read a few KiB ahead. The call lets go of the GIL, and on the event loop,
    where granian's threads wait for it, each call handed it over: a request id drawn one call
    at a time cost the server about 4 futex calls per request (docs/benchmarks.md, "Fourth
    pass"). A forked child draws afresh, never its parent's bytes."""

    def __init__(self, ahead: int):
        self._ahead = ahead
        self._forget()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()  # a lock held by a thread at the fork stays held
        self._bytes, self._at = b"", 0

    def take(self, n: int) -> bytes:
        with self._lock:
            at = self._at
            if at + n > len(self._bytes):
                self._bytes, at = os.urandom(max(n, self._ahead)), 0
            self._at = at + n
            return self._bytes[at : at + n]


_random_bytes = _RandomBytes(4096)


def request_id(incoming: str | None) -> str:
    """Echo the caller's ``X-Request-Id`` if it is safe to, else make one: a random (version 4)
    UUID in hex."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    # What uuid.uuid4().hex returns, without building the UUID object (half its cost).
    raw = bytearray(_random_bytes.take(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # variant RFC 4122
    return raw.hex()


_last_second: tuple[int, str] = (-1, "")


def utc_stamp(created: float) -> str:
    """``created`` (seconds since the epoch) as ``2026-12-07T12:49:22.123Z``: what
    ``datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds")`` writes,
    rounded the same way, with the date and time formatted once per second."""
    global _last_second
    fraction, whole = math.modf(created)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    second = int(whole)
    last, text = _last_second
    if second != last:
        text = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second = (second, text)
    return f"{text}.{micros // 1000:03d}Z"


# json.dumps builds an encoder for every call; a line is written for every request, so its
# members are encoded one by one (_json_value), as json.dumps(..., ensure_ascii=True) writes
# them (tests/buffer/test_logs.py holds the two equal).
_ENCODE = json.encoder.encode_basestring_ascii


# How many members a JsonFormatter keeps (``_member``) before it forgets them all.
_MEMBERS_KEPT = 512


def _json_value(value) -> str:
    kind = type(value)
    if kind is str:
        return _ENCODE(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return json.dumps(value, ensure_ascii=True)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", …fields}`` on one line.

    Fields come from ``extra={"fields": {...}}``. ``secrets`` are replaced by ``[redacted]``
    wherever they occur; phone numbers are masked unless ``show_numbers``.
    """

    def __init__(self, *, secrets: Iterable[str] = (), show_numbers: bool = False):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)
        self.show_numbers = show_numbers
        self._members: dict[tuple[str, str], str] = {}

    def format(self, record: logging.LogRecord) -> str:
        exception = self.formatException(record.exc_info) if record.exc_info else None
        fields = getattr(record, "fields", {})
        return self.line(
            record.created, record.levelname, record.name, record.getMessage(), fields, exception
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict,
        exception: str | None = None,
    ) -> str:
        """The JSON line of one record, from its parts (``RequestLog`` writes access lines with
        it without building a ``LogRecord``)."""
        entry = {
            "time": utc_stamp(created),
            "level": level.lower(),
            "logger": logger,
            "message": message,
            **fields,
        }
        if exception is not None:
            entry["exception"] = exception
        member = self._member
        try:
            members = [member(k, v) for k, v in entry.items()]
        except TypeError:  # a field name that is not a string: json's own coercion
            clean = self._clean
            return json.dumps({k: clean(k, v) for k, v in entry.items()}, ensure_ascii=True)
        return "{" + ", ".join(members) + "}"

    def _member(self, name: str, value) -> str:
        """``"name": value`` as the line writes it, cleaned. Most values of an access line
        repeat from one request to the next (level, logger, message, method, path, client), so
        a text value's member is kept once made; a few hundred are, then all are forgotten."""
        if type(value) is not str:  # nothing to clean
            return f"{_ENCODE(name)}: {_json_value(value)}"
        members = self._members
        found = members.get((name, value))
        if found is None:
            found = f"{_ENCODE(name)}: {_ENCODE(self._clean(name, value))}"
            if len(members) >= _MEMBERS_KEPT:
                members.clear()
            members[(name, value)] = found
        return found

    def _may_change(self, value: str) -> bool:
        """Whether any pass of ``_clean`` may change ``value``: it holds a ? (a query), a DEL or
        C1 control, a secret, or six digits in a row (the shortest number ``_PHONE`` masks).
        Most values of every access line hold none and are kept as they are. Substring tests
        first: one regular expression of all of it took up to three times as long (8 searches
        a line, 0.5-1.3 µs each; the access line 11.0 -> 9.3 µs, in-process)."""
        if "?" in value:
            return True
        if value.isascii():
            if "\x7f" in value:
                return True
            one_run = value.isalnum()
        elif _UNSAFE.search(value):
            return True
        else:
            one_run = False
        for secret in self.secrets:
            if secret in value:
                return True
        if one_run:
            # Letters and digits only (a request id): _PHONE, which wants no letter or digit
            # next to a number, matches all of it or nothing.
            return value.isdigit()
        return _SIX_DIGITS.search(value) is not None

    def _clean(self, name: str, value):
        if not isinstance(value, str):
            return value
        phone = not self.show_numbers and name in PHONE_FIELDS
        if not phone and not self._may_change(value):
            return value
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        value = strip_queries(value)
        if not self.show_numbers:
            value = mask_number(value) if phone else mask_numbers(value)
        return _UNSAFE.sub(lambda match: f"\\u{ord(match.group(0)):04x}", value)


def configure(*, secrets: Iterable[str] = (), show_numbers: bool = False) -> dict:
    """Send every log record to stderr as JSON; return the same as a ``logging`` dictConfig (for
    the HTTP server's worker processes, so its own messages are JSON too)."""
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
            "_granian": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        },
    }
    logging.config.dictConfig(config)
    return config


class Answered(NamedTuple):
    """One request answered (or refused by the HTTP server itself), for the metrics."""

    environ: dict
    status: str
    seconds: float


class RequestLog:
    """WSGI middleware: a request id for every request (echoed as ``X-Request-Id``), one access
    log line when the answer is ready, and ``observe(Answered(...))`` for the metrics.

    ``refused`` does the same for an answer the HTTP server gave itself before the app saw the
    request (``plumbing.serving.ObservesRefusals``), so those are logged and counted too.
    """

    def __init__(self, app, observe: Callable[[Answered], None] | None = None):
        self.app = app
        self.observe = observe
        self.log = logging.getLogger(ACCESS_LOGGER)

    def __call__(self, environ, start_response):
        started = environ.get(BRIDGE_STARTED) or time.perf_counter()
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
            self.record(environ, seen["status"], time.perf_counter() - started, rid)

    def refused(self, environ: dict, status: int, seconds: float) -> list[tuple[str, str]]:
        """Log and count an answer the server gave itself; the headers to add to it."""
        rid = request_id(None)
        self.record(environ, str(status), seconds, rid)
        return [(REQUEST_ID_HEADER, rid)]

    def record(
        self, environ: dict, status: str, seconds: float, rid: str, turn: Turn | None = None
    ) -> None:
        """Count and log one answer: ``observe(Answered(...))`` and the access line, done at
        once or, given ``turn``, with the other answers of this turn of the event loop."""
        answered = Answered(environ, status, seconds)
        if turn is not None:
            turn.hold(self, answered, rid)
            return
        if self.observe is not None:
            self.observe(answered)
        line = self.line(answered, rid, time.time())
        if line is not None:
            _write(*line)

    def line(self, answered: Answered, rid: str, now: float) -> tuple[StreamHandler, str] | None:
        """The access line of ``answered`` and the handler to write it to, or None: not logged,
        or logged through ``logging`` (another handler than ours, pytest's capture)."""
        log = self.log
        if not log.isEnabledFor(logging.INFO):
            return None
        environ, status = answered.environ, answered.status
        method, path = environ.get("REQUEST_METHOD", ""), redact_path(environ.get("PATH_INFO", ""))
        fields = {
            "method": method,
            "path": path,
            "status": int(status),
            "duration_ms": round(answered.seconds * 1000, 3),
            "request_id": rid,
            "remote_addr": environ.get("REMOTE_ADDR", ""),
        }
        handler = _the_json_stream(log)
        if handler is not None:
            # What log.handle() would write, without a LogRecord and the walk to its handler:
            # the line costs a fifth of what logging's path costs (docs/benchmarks.md).
            text = handler.formatter.line(
                now, "INFO", log.name, f"{method} {path} {status}", fields
            )
            return handler, text + handler.terminator
        # log.info() without its walk up the stack for the caller's file and line: the access
        # line always comes from here, and no line shows them.
        record = log.makeRecord(
            log.name,
            logging.INFO,
            "(unknown file)",
            0,
            "%s %s %s",
            (method, path, status),
            None,
            extra={"fields": fields},
        )
        log.handle(record)
        return None


def _write(handler: StreamHandler, text: str) -> None:
    with handler.lock:
        handler.stream.write(text)
        handler.stream.flush()


class Turn:
    """What the answers given in one turn of an event loop leave behind, done once the turn
    ends, after the answers are out: the answers one commit releases are given in the same
    turn, so their access lines reach the stream in one write rather than one each (a write to
    a pipe, where a platform collects a process's logs, cost about as much as formatting the
    line), and what they count is written once per series (``observe_all``: what ``Metrics`` and
    ``OutcomeCounts`` observe one at a time). ``flush`` does what is held."""

    def __init__(self, loop, observe_all: Callable[[list], None]):
        self._loop, self._observe_all = loop, observe_all
        self._counted: list = []
        self._answered: list[tuple[RequestLog, Answered, str]] = []

    def count(self, event) -> None:
        """``event`` (a ``verdicts.Taken``) counted at the end of the turn."""
        self._started()
        self._counted.append(event)

    def hold(self, request_log: RequestLog, answered: Answered, rid: str) -> None:
        """What ``request_log.record`` does with ``answered``, at the end of the turn."""
        self._started()
        if request_log.observe is not None:
            self._counted.append(answered)
        self._answered.append((request_log, answered, rid))

    def _started(self) -> None:
        if not self._counted and not self._answered:
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        answered, self._answered = self._answered, []
        counted, self._counted = self._counted, []
        now = time.time()
        lines = [line for log, a, rid in answered if (line := log.line(a, rid, now)) is not None]
        # One handler, always, unless the configuration changed within the turn.
        for handler, texts in groupby(lines, key=itemgetter(0)):
            _write(handler, "".join(text for _, text in texts))
        if counted:
            self._observe_all(counted)


def _the_json_stream(log: logging.Logger) -> logging.StreamHandler | None:
    """The one handler a record of ``log`` would reach, when that is a plain stream with
    ``JsonFormatter`` (``configure``) and no filter anywhere on the way; else None (another
    handler, pytest's capture): then the record goes through ``logging`` as usual."""
    found = None
    logger = log
    while logger is not None:
        if logger.filters or logger.disabled:
            return None
        for handler in logger.handlers:
            if found is not None or handler.filters or handler.level > logging.INFO:
                return None
            found = handler
        if not logger.propagate:
            break
        logger = logger.parent
    if type(found) is logging.StreamHandler and isinstance(found.formatter, JsonFormatter):
        return found
    return None
