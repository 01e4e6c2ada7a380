"""Pure mapping: a Digital Interconnect delivery report → a record → a Marketing status item.

No I/O here (docs/spec.md §3). Every rejection is an ``InvalidParameter`` naming the parameter, so
the route can answer a 400 that tells the provider exactly what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date as date_of
from datetime import datetime, timezone
from datetime import time as dt_time
from enum import Enum
from zoneinfo import ZoneInfo

from smsbounce.contracts import wire
from smsbounce.contracts.wire import MESSAGE_ID_MAX, RECIPIENT_MAX, STATUS_TEXT_MAX, format_utc

from .errors import InvalidParameter

STATUS_RAW_MAX = 1000

# The article's names, used in error messages; lookups are case-insensitive (DI sends `orderid`).
REPORT_PARAMETERS = ("orderID", "time", "date", "msisdn", "status")

_MESSAGE_ID = re.compile(rf"[!-~]{{1,{MESSAGE_ID_MAX}}}")
_RECIPIENT = re.compile(r"\+?[0-9]{1,24}")
_DATE = re.compile(r"[0-9]{8}")
_TIME = re.compile(r"[0-9]{6}")
# Some DI traffic writes the prefix with the letter O instead of zero (docs/spec.md §2.3).
_STATUS_CODE = re.compile(r"[0oO][xX]([0-9A-Fa-f]{4})(?![0-9A-Za-z])\s*(.*)", re.DOTALL)
# C0 and C1 control characters and DEL; lone surrogates (JSON's "\ud800" decodes to one).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Outcome(Enum):
    """What a report says about a message, weakest first (docs/spec.md §4 ranks them in this
    order)."""

    DELIVERED = "delivered"
    INTERMEDIATE = "intermediate"
    TEMPORARY = "Temporary"
    PERMANENT = "Permanent"

    @property
    def is_bounce(self) -> bool:
        return self in (Outcome.TEMPORARY, Outcome.PERMANENT)


class Result(str, Enum):
    """What became of one report. A provider is only told ``answer``: whether its bounce was a
    duplicate (same rank and event time as the stored one) or stale (weaker or older) is ours."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    STALE = "stale"
    ACKNOWLEDGED = "acknowledged"  # a success or progress report: never stored
    # A bounce with a field the mapping could not read: kept with its request, not served
    # until ``smsbounce replay`` maps it (docs/spec.md §4).
    QUARANTINED = "quarantined"

    @property
    def answer(self) -> str:
        return "ignored" if self in (Result.DUPLICATE, Result.STALE) else self.value


def normalise_code(code: str) -> str:
    """``0xdbf3`` / ``OxDBF3`` → ``0xDBF3``."""
    return "0x" + code[2:].upper()


@dataclass(frozen=True)
class StatusTable:
    """Which provider codes are success, intermediate, soft or hard bounces (configuration)."""

    success: frozenset[str]
    intermediate: frozenset[str]
    temporary: frozenset[str]
    permanent: frozenset[str]
    default: Outcome

    @classmethod
    def from_document(cls, document: Mapping) -> StatusTable:
        """Build from a ``status-types`` document; a code listed twice is an impossible mapping."""
        groups = {
            key: frozenset(normalise_code(c) for c in document.get(key, ()))
            for key in ("success", "intermediate", "temporary", "permanent")
        }
        seen: dict[str, str] = {}
        for key, codes in groups.items():
            for code in sorted(codes):
                if code in seen:
                    raise ValueError(f"code {code} is listed under both {seen[code]} and {key}")
                seen[code] = key
        return cls(**groups, default=Outcome(document["default"]))

    def classify(self, code: str) -> Outcome:
        code = normalise_code(code)
        if code in self.success:
            return Outcome.DELIVERED
        if code in self.intermediate:
            return Outcome.INTERMEDIATE
        if code in self.temporary:
            return Outcome.TEMPORARY
        if code in self.permanent:
            return Outcome.PERMANENT
        return self.default


@dataclass(frozen=True)
class Report:
    """One mapped delivery report. Only bounces are stored and served to Marketing."""

    message_id: str
    recipient: str
    status_code: str
    status_text: str
    outcome: Outcome
    timestamp: str  # event time, UTC, YYYYMMDDhhmmss
    # The report as received (JSON), kept with the record for audits; never served.
    raw: str | None = field(default=None, compare=False)
    # True when the report carried no event time and ``timestamp`` is its arrival.
    arrival_time: bool = field(default=False, compare=False)

    @property
    def is_bounce(self) -> bool:
        return self.outcome.is_bounce

    @property
    def type(self) -> str:
        """Marketing's ``type`` for a bounce (Temporary/Permanent); the outcome's name otherwise."""
        return self.outcome.value


def map_di_report(params: Mapping[str, str], table: StatusTable, tz: ZoneInfo) -> Report:
    """Map DI's query parameters (names already lower-cased, values URL-decoded) to a Report.

    Accepts what real DI traffic looks like: a leading ``+`` lost to URL decoding (restored in
    ``msisdn`` and wherever that number appears in the status text), a quoted ``status``, and the
    letter O in the code prefix. Raises InvalidParameter naming the first bad parameter.
    """
    values = {name: params.get(name.lower()) for name in REPORT_PARAMETERS}
    for name, value in values.items():
        if value is None or not value.strip():
            raise InvalidParameter(name, f"{name} is required")

    message_id = values["orderID"].strip()
    if not _MESSAGE_ID.fullmatch(message_id):
        raise InvalidParameter(
            "orderID",
            f"orderID must be 1 to {MESSAGE_ID_MAX} printable characters without spaces",
        )

    recipient, plus_lost = _restore_plus(values["msisdn"])
    if not _RECIPIENT.fullmatch(recipient) or len(recipient) > RECIPIENT_MAX:
        raise InvalidParameter("msisdn", "msisdn must be a phone number: an optional + and digits")

    timestamp = _utc_timestamp(values["date"].strip(), values["time"].strip(), tz)

    status = values["status"]
    if len(status) > STATUS_RAW_MAX:
        raise InvalidParameter("status", f"status is longer than {STATUS_RAW_MAX} characters")
    code, text = _split_status(status)
    if plus_lost:
        digits = re.escape(recipient[1:])
        # "destination of +49…" arrives as "of  49…": the second space was the plus.
        text = re.sub(rf"(?<=\s)\s(?={digits}(?![0-9]))", "+", text)
    if code is None:
        # A status without a leading code is DI's generic success text.
        return Report(message_id, recipient, "", text, Outcome.DELIVERED, timestamp)
    outcome = table.classify(code)
    # Marketing shows statusText as the bounce reason: never empty, never lost to its length.
    text = (text or code)[:STATUS_TEXT_MAX]
    return Report(message_id, recipient, code, text, outcome, timestamp)


def to_status_item(record) -> dict[str, str]:
    """A Report or a stored row (the same attribute names) → one Marketing status item."""
    return {
        "messageId": record.message_id,
        "recipient": record.recipient,
        "statusCode": record.status_code,
        "statusText": record.status_text,
        "type": record.type,
        "timestamp": record.timestamp,
    }


def clean_text(text: str) -> str:
    """Free text as it may be stored and served: control characters become spaces (PostgreSQL
    refuses NUL; SQLite would keep it), lone surrogates U+FFFD (no database can encode them),
    runs of white space one space. The same on every database."""
    text = _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text))
    return " ".join(text.split())


def in_utc(moment: datetime, parameter: str) -> datetime:
    """An aware ``moment`` in UTC; InvalidParameter naming ``parameter`` when that leaves the
    years 1 to 9999 a timestamp (``YYYYMMDDhhmmss``) can hold: year 1 east of UTC, year 9999
    west of it."""
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise InvalidParameter(
            parameter,
            f"{parameter} is outside the times a report can have (years 1 to 9999 in UTC)",
        ) from None


def parse_utc(value: str, parameter: str) -> datetime:
    """``YYYYMMDDhhmmss`` → aware UTC datetime; InvalidParameter naming ``parameter`` otherwise."""
    if not re.fullmatch(r"[0-9]{14}", value):
        raise InvalidParameter(parameter, f"{parameter} must be a UTC time as YYYYMMDDhhmmss")
    try:
        return wire.parse_utc(value)
    except ValueError:
        raise InvalidParameter(parameter, f"{parameter} is not a valid date and time") from None


def _restore_plus(raw: str) -> tuple[str, bool]:
    """Return (number, whether a leading + had been turned into a space by URL decoding)."""
    stripped = raw.strip()
    lost = raw[:1].isspace() and stripped[:1].isdigit()
    return ("+" + stripped if lost else stripped), lost


def _utc_timestamp(date: str, time: str, tz: ZoneInfo) -> str:
    if not _DATE.fullmatch(date):
        raise InvalidParameter("date", "date must be DDMMYYYY")
    if not _TIME.fullmatch(time):
        raise InvalidParameter("time", "time must be HHMMSS")
    # Read by position, not with strptime (10 µs each): eight and six ASCII digits can split
    # into %d%m%Y and %H%M%S only one way, and date() and dt_time() refuse exactly what
    # strptime refuses (day 00 or 32, month 13, 29 February of a common year, year 0000,
    # hour 24, minute or second 60).
    try:
        day = date_of(int(date[4:]), int(date[2:4]), int(date[:2]))
    except ValueError:
        raise InvalidParameter("date", "date is not a valid calendar date (DDMMYYYY)") from None
    try:
        clock = dt_time(int(time[:2]), int(time[2:4]), int(time[4:]))
    except ValueError:
        raise InvalidParameter("time", "time is not a valid time of day (HHMMSS)") from None
    moment = datetime.combine(day, clock)
    return format_utc(in_utc(moment.replace(tzinfo=tz), "date"))


def _split_status(status: str) -> tuple[str | None, str]:
    """Split ``'0x4503 text'`` into (code, text); strips wrapping quotes and control characters."""
    status = _CONTROL.sub(" ", status).strip()
    if len(status) >= 2 and status[0] == status[-1] and status[0] in "'\"":
        status = status[1:-1].strip()
    match = _STATUS_CODE.fullmatch(status)
    if match is None:
        return None, status[:STATUS_TEXT_MAX]
    return normalise_code("0x" + match.group(1)), match.group(2).strip()
