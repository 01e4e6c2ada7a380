"""SAP Digital Interconnect: GET with orderID, time, date, msisdn, status (docs/spec.md §2.3, §3).

Its quirks (lost ``+``, quoted status, letter O in the code, code and text in one field, date and
time in the account's time zone) need code, not a declarative file; its code table is the
declarative part (``SMSBOUNCE_STATUS_TYPES``, default ``status_types/di.json``). The record it
builds obeys the same rules as every other profile's (``reports.make_report``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date as date_of
from datetime import datetime
from datetime import time as dt_time
from zoneinfo import ZoneInfo

from smsbounce.contracts.wire import STATUS_TEXT_MAX

from ..reports import (
    Classified,
    InvalidParameter,
    Outcome,
    Rejected,
    Report,
    Seen,
    checked_message_id,
    checked_recipient,
    in_utc,
    make_report,
    without_controls,
)
from .base import Incoming, Profile

STATUS_RAW_MAX = 1000

# The article's names, used in error messages; lookups are case-insensitive (DI sends `orderid`).
REPORT_PARAMETERS = ("orderID", "time", "date", "msisdn", "status")
_LOWERED = tuple((name, name.lower()) for name in REPORT_PARAMETERS)  # as parse_query keys them
NAMES = {"messageId": "orderID", "recipient": "msisdn"}

_DATE = re.compile(r"[0-9]{8}")
_TIME = re.compile(r"[0-9]{6}")
# Some DI traffic writes the prefix with the letter O instead of zero (docs/spec.md §2.3).
_STATUS_CODE = re.compile(r"[0oO][xX]([0-9A-Fa-f]{4})(?![0-9A-Za-z])\s*(.*)", re.DOTALL)


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
        return self.explain(code).outcome

    def explain(self, code: str) -> Classified:
        """The outcome of ``code`` and the list of the status-types file that decided it."""
        code = normalise_code(code)
        for group, outcome in (
            ("success", Outcome.DELIVERED),
            ("intermediate", Outcome.INTERMEDIATE),
            ("temporary", Outcome.TEMPORARY),
            ("permanent", Outcome.PERMANENT),
        ):
            if code in getattr(self, group):
                return Classified(outcome, group)
        return Classified(self.default, "default")


class DigitalInterconnect(Profile):
    name = "di"
    description = "SAP Digital Interconnect (SMS 365) delivery reports (GET); the article's format."
    methods = ("GET",)
    # The article's contract: a report missing a parameter is answered 400 naming it.
    keeps_unmapped = False

    def __init__(self, table: StatusTable, timezone: ZoneInfo):
        self.table, self.timezone = table, timezone

    def parse(self, incoming: Incoming) -> list[Report | Rejected]:
        try:
            return [map_di_report(incoming.query, self.table, self.timezone)]
        except InvalidParameter as exc:
            return [exc if isinstance(exc, Rejected) else Rejected(exc.parameter, str(exc))]

    def describe(self):
        table = self.table
        return {
            **super().describe(),
            "fields": {
                "messageId": "orderID",
                "recipient": "msisdn",
                "time": "date + time",
                "status": "status (code + text)",
            },
            "codes": {
                "success": sorted(table.success),
                "intermediate": sorted(table.intermediate),
                "temporary": sorted(table.temporary),
                "permanent": sorted(table.permanent),
            },
            "default": table.default.value,
        }


def map_di_report(params: Mapping[str, str], table: StatusTable, tz: ZoneInfo) -> Report:
    """Map DI's query parameters (names already lower-cased, values URL-decoded) to a Report.

    Accepts what real DI traffic looks like: a leading ``+`` lost to URL decoding (restored in
    ``msisdn`` and wherever that number appears in the status text), a quoted ``status``, and the
    letter O in the code prefix. Raises InvalidParameter naming the first bad parameter, in the
    order orderID, msisdn, date, time, status.
    """
    values = {name: params.get(lowered) for name, lowered in _LOWERED}
    for name, value in values.items():
        if value is None or not value.strip():
            raise InvalidParameter(name, f"{name} is required")

    message_id = checked_message_id(values["orderID"], NAMES["messageId"])
    recipient, plus_lost = _restore_plus(values["msisdn"])
    # Unreadable is refused too: DI always sends a number, so anything else is not DI's report.
    recipient = checked_recipient(recipient, NAMES["recipient"])
    event_time = _event_time(values["date"].strip(), values["time"].strip(), tz)

    status = values["status"]
    if len(status) > STATUS_RAW_MAX:
        raise InvalidParameter("status", f"status is longer than {STATUS_RAW_MAX} characters")
    code, text = _split_status(status)
    if plus_lost:
        digits = re.escape(recipient[1:])
        # "destination of +49…" arrives as "of  49…": the second space was the plus.
        text = re.sub(rf"(?<=\s)\s(?={digits}(?![0-9]))", "+", text)
    # A status without a leading code is DI's generic success text.
    outcome, rule = (
        Classified(Outcome.DELIVERED, "no code") if code is None else table.explain(code)
    )
    return make_report(
        message_id=message_id,
        recipient=recipient,
        event_time=event_time,
        code=code or "",
        text=text,
        outcome=outcome,
        names=NAMES,
        seen=Seen("", code or "", rule),
    )


def _restore_plus(raw: str) -> tuple[str, bool]:
    """Return (number, whether a leading + had been turned into a space by URL decoding)."""
    stripped = raw.strip()
    lost = raw[:1].isspace() and stripped[:1].isdigit()
    return ("+" + stripped if lost else stripped), lost


# Reports arriving together mostly share their second: each pair read once (a pure function;
# what it refuses raises, and is not kept).
@functools.lru_cache(maxsize=1024)
def _event_time(date: str, time: str, tz: ZoneInfo) -> datetime:
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
    return in_utc(moment.replace(tzinfo=tz), "date")


def _split_status(status: str) -> tuple[str | None, str]:
    """Split ``'0x4503 text'`` into (code, text); strips wrapping quotes and control characters."""
    status = without_controls(status).strip()
    if len(status) >= 2 and status[0] == status[-1] and status[0] in "'\"":
        status = status[1:-1].strip()
    match = _STATUS_CODE.fullmatch(status)
    if match is None:
        return None, status[:STATUS_TEXT_MAX]
    return normalise_code("0x" + match.group(1)), match.group(2).strip()
