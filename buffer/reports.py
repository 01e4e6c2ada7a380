"""Pure: what a delivery report becomes — its ``Outcome``, the ``Report`` record and the rules
every record obeys whoever mapped it (message id, recipient, time, code and text limits), and
the Marketing status item it is served as.

No I/O here (docs/spec.md §3). A field that breaks a rule is an ``InvalidParameter`` naming the
provider's own parameter, so the answer tells the provider exactly what was wrong.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import NamedTuple

from smsbounce.contracts import wire
from smsbounce.contracts.wire import (
    MESSAGE_ID_MAX,
    RECIPIENT_MAX,
    STATUS_CODE_MAX,
    STATUS_TEXT_MAX,
    format_utc,
)

from .errors import InvalidParameter

log = logging.getLogger("smsbounce.buffer")

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
    REJECTED = "rejected"  # not taken: its error says why

    @property
    def answer(self) -> str:
        return "ignored" if self in (Result.DUPLICATE, Result.STALE) else self.value


class Classified(NamedTuple):
    """An outcome and the profile's rule that decided it, named as in the profile's file
    (``states.permanent``, ``codes.temporary``, ``permanentFlag``, ``default``, …)."""

    outcome: Outcome
    rule: str


@dataclass(frozen=True)
class Seen:
    """A report's state and code as its provider sent them, and the rule that classified it."""

    state: str
    code: str
    rule: str


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
    # How it was classified: the provider's own state and code as sent, and the profile's rule
    # that decided (``Classified.rule``), for ``smsbounce providers codes``; never served.
    seen: Seen | None = field(default=None, compare=False)

    @property
    def is_bounce(self) -> bool:
        return self.outcome.is_bounce

    @property
    def type(self) -> str:
        """Marketing's ``type`` for a bounce (Temporary/Permanent); the outcome's name otherwise."""
        return self.outcome.value


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
    return " ".join(without_controls(text).split())


def without_controls(text: str) -> str:
    """``text`` with control characters (C0, DEL, C1) as spaces and lone surrogates U+FFFD.
    Printable ASCII, most of every report, has neither: kept without running the passes."""
    if text.isascii() and text.isprintable():
        return text
    return _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text))


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


class Rejected(InvalidParameter):
    """One report of a request could not be taken; ``parameter`` names the field."""


# The quarantine's type of a report its profile could not map (no message id or no state).
UNMAPPED = "unmapped"


class Unmappable(Rejected):
    """A report in its provider's format in which the profile finds no message id or no state
    — what our mapping lacks, not what the provider sent wrong. ``intake`` keeps it with its
    request for ``smsbounce replay`` (docs/spec.md §4), or refuses it like any ``Rejected``
    for a profile whose contract answers 400 (Digital Interconnect's). ``message_id`` is the
    one found, if any; ``raw`` the batch report's own JSON."""

    def __init__(self, parameter: str, message: str, message_id: str = "", raw: str | None = None):
        super().__init__(parameter, message)
        self.message_id, self.raw = message_id, raw


class Unreadable(Rejected):
    """A field in a shape the mapping cannot read, though a provider may well send it so (no
    recipient, a channel address, a time in another format): of a bounce, it is quarantined,
    not refused (docs/spec.md §4). A value no provider sends — digits outside ASCII, a time no
    report can have — stays a plain ``Rejected``."""


def make_report(
    *,
    message_id: str | None,
    recipient: str | None,
    event_time: datetime,
    code: str,
    text: str,
    outcome: Outcome,
    names: Mapping[str, str],
    raw: str | None = None,
    arrival_time: bool = False,
    seen: Seen | None = None,
) -> Report:
    """Build a Report from normalised values, enforcing the record's limits (docs/spec.md §2.2, §3).

    ``names`` maps ``messageId``/``recipient`` to the provider's own parameter names, so an error
    names what the provider actually sent.
    """
    message_id = checked_message_id(message_id, names["messageId"])
    recipient = checked_recipient(recipient, names["recipient"])
    code = clean_text(code)
    text = reason_text(text, code)
    if len(code) > STATUS_CODE_MAX:
        # Marketing's statusCode holds 10 characters: the whole code stays readable in the text.
        log.warning(
            "statusCode %r is longer than %d characters: served as %r, the whole code at the "
            "end of statusText",
            code,
            STATUS_CODE_MAX,
            code[:STATUS_CODE_MAX],
        )
        if code not in text:
            text = text[: STATUS_TEXT_MAX - len(code) - 8].rstrip() + f" (code {code})"
        code = code[:STATUS_CODE_MAX]
    return Report(
        message_id,
        recipient,
        code,
        text,
        outcome,
        format_utc(event_time),
        raw,
        arrival_time,
        seen,
    )


def reason_text(text: str, code: str) -> str:
    """Marketing's statusText: free text cleaned (``clean_text``), cut to the record's limit;
    the code when there is no text at all."""
    return clean_text(text)[:STATUS_TEXT_MAX] or clean_text(code)[:STATUS_TEXT_MAX]


def checked_message_id(message_id: str | None, name: str) -> str:
    """The message id, stripped; Rejected naming ``name`` unless it can be the record's key."""
    message_id = (message_id or "").strip()
    if not message_id:
        raise Rejected(name, f"{name} is required")
    if len(message_id) > MESSAGE_ID_MAX or not message_id.isprintable() or " " in message_id:
        raise Rejected(
            name, f"{name} must be 1 to {MESSAGE_ID_MAX} printable characters without spaces"
        )
    return message_id


def checked_recipient(recipient: str | None, name: str) -> str:
    """The recipient, stripped: an optional + and ASCII digits within the record's limit.
    Unreadable when it is missing or something else a provider may send (a sender id, a
    channel address); Rejected for digits no network dials."""
    recipient = (recipient or "").strip()
    if not recipient:
        raise Unreadable(name, f"{name} is missing: the report carries no recipient")
    digits = recipient.removeprefix("+")
    problem = f"{name} must be a phone number: an optional + and digits"
    # ASCII digits only: str.isdigit() also takes ٤ and ², which no network dials.
    if digits.isdigit() and not digits.isascii():
        raise Rejected(name, problem)
    if not (digits.isascii() and digits.isdigit()) or len(recipient) > RECIPIENT_MAX:
        raise Unreadable(name, problem)  # a sender id, a channel address (whatsapp:+1…), …
    return recipient
