"""What every provider profile shares: the request it is shown, and what it hands back.

A profile turns one HTTP request into zero or more ``Report``s (reports.py) — or, per report,
the reason it was rejected, or a ``Quarantined`` bounce whose fields it could not all read — and
says how its provider expects to be answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from smsbounce.contracts.wire import (
    MESSAGE_ID_MAX,
    RECIPIENT_MAX,
    STATUS_CODE_MAX,
    STATUS_TEXT_MAX,
    format_utc,
)

from ..errors import InvalidParameter
from ..reports import Outcome, Report, clean_text

_REQUIRED = object()


class Deferred:
    """A field of a frozen dataclass that may be given a function of no arguments instead of
    its value: the function is called the first time the field is read, and only then. A
    ``default`` is given the same way (``Deferred(dict)``: a fresh dict for each instance).

    A request's full URL (an urljoin) and its headers by name cost more than many a profile's
    whole mapping, and only a signature check (Twilio's) reads them; the query string without
    its token is read only for a report whose raw record is kept.
    """

    def __init__(self, default: Any = _REQUIRED):
        self.default = default

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.slot = name, "_deferred_" + name

    def __get__(self, instance, owner=None):
        if instance is None:
            if self.default is _REQUIRED:
                # What dataclasses reads as "this field has no default".
                raise AttributeError(self.name)
            return self.default
        value = instance.__dict__[self.slot]
        if callable(value):
            value = value()
            instance.__dict__[self.slot] = value
        return value

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.slot] = value


@dataclass(frozen=True)
class Incoming:
    """The parts of a request a profile may read. Names in ``query``, ``form`` and ``headers``
    are lower-case. ``url``, ``headers`` and ``raw_query`` may be given as functions
    (``Deferred``)."""

    method: str
    url: str = Deferred()  # type: ignore[assignment]
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = Deferred(dict)  # type: ignore[assignment]
    # Form fields with their names as sent (Twilio signs them case-sensitively).
    raw_form: tuple[tuple[str, str], ...] = ()
    token: str | None = None  # the ingest capability, kept apart so it is never stored
    # The query string and body exactly as received (the token taken out), for the raw record
    # that ``smsbounce replay`` maps again (``raw_requests``).
    raw_query: str = Deferred("")  # type: ignore[assignment]
    raw_body: bytes = b""
    content_type: str = ""


@dataclass(frozen=True)
class Answer:
    """How a provider expects to be answered when its reports were taken."""

    status: int = 200
    content_type: str = "application/json"
    body: str | None = None  # None: the buffer's JSON result


class Rejected(InvalidParameter):
    """One report of a request could not be taken; ``parameter`` names the field."""


class Unreadable(Rejected):
    """A field in a shape the mapping cannot read, though a provider may well send it so (no
    recipient, a channel address, a time in another format): of a bounce, it is quarantined,
    not refused (docs/spec.md §4). A value no provider sends — digits outside ASCII, a time no
    report can have — stays a plain ``Rejected``."""


@dataclass(frozen=True)
class Quarantined:
    """A bounce — a message id and a failure state — with a field the mapping could not read
    (``parameter``, and why). Kept with its raw request, answered as taken, never served as it
    is: Marketing's item needs every field (docs/spec.md §4, §7)."""

    message_id: str
    outcome: Outcome
    parameter: str
    reason: str
    raw: str | None = None

    @property
    def is_bounce(self) -> bool:
        return True


class Profile:
    """One provider's callback format. Subclasses implement ``parse``."""

    name: str
    description: str = ""
    methods: tuple[str, ...] = ("GET",)
    batch: bool = False  # several reports per request: answered per report
    answer: Answer = Answer()
    # Lower-case names of parameters that carry a gateway's free text (Kannel's %A echoes the
    # SMS in the link's charset): bytes outside UTF-8 there are decoded leniently, not refused.
    free_text: frozenset[str] = frozenset()

    def parse(self, incoming: Incoming) -> list[Report | Rejected | Quarantined]:
        raise NotImplementedError

    def authenticate(self, incoming: Incoming) -> str | None:
        """Return why the request is not from the provider, or None. Default: nothing to check."""
        return None

    def describe(self) -> dict[str, Any]:
        """What ``smsbounce providers list`` shows."""
        return {"name": self.name, "description": self.description, "methods": list(self.methods)}


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
) -> Report:
    """Build a Report from normalised values, enforcing the record's limits (docs/spec.md §2.2, §3).

    ``names`` maps ``messageId``/``recipient`` to the provider's own parameter names, so an error
    names what the provider actually sent.
    """
    message_id = checked_message_id(message_id, names["messageId"])
    recipient = checked_recipient(recipient, names["recipient"])
    return Report(
        message_id,
        recipient,
        clean_text(code)[:STATUS_CODE_MAX],
        reason_text(text, code),
        outcome,
        format_utc(event_time),
        raw,
        arrival_time,
    )


def reason_text(text: str, code: str) -> str:
    """Marketing's statusText: free text cleaned (``clean_text``), cut to the record's limit;
    the code when there is no text at all."""
    return clean_text(text)[:STATUS_TEXT_MAX] or clean_text(code)[:STATUS_CODE_MAX]


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
