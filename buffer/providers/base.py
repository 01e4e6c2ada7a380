"""What every provider profile shares: the request it is shown, and what it hands back.

A profile turns one HTTP request into zero or more ``Report``s (mapping.py) — or, per report,
the reason it was rejected — and says how its provider expects to be answered.
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


@dataclass(frozen=True)
class Incoming:
    """The parts of a request a profile may read. Names in ``query`` and ``form`` are lower-case."""

    method: str
    url: str
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Form fields with their names as sent (Twilio signs them case-sensitively).
    raw_form: tuple[tuple[str, str], ...] = ()
    token: str | None = None  # the ingest capability, kept apart so it is never stored


@dataclass(frozen=True)
class Answer:
    """How a provider expects to be answered when its reports were taken."""

    status: int = 200
    content_type: str = "application/json"
    body: str | None = None  # None: the buffer's JSON result


class Rejected(InvalidParameter):
    """One report of a request could not be taken; ``parameter`` names the field."""


class Profile:
    """One provider's callback format. Subclasses implement ``parse``."""

    name: str
    description: str = ""
    methods: tuple[str, ...] = ("GET",)
    batch: bool = False  # several reports per request: answered per report
    answer: Answer = Answer()

    def parse(self, incoming: Incoming) -> list[Report | Rejected]:
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
) -> Report:
    """Build a Report from normalised values, enforcing the record's limits (docs/spec.md §2.2, §3).

    ``names`` maps ``messageId``/``recipient`` to the provider's own parameter names, so an error
    names what the provider actually sent.
    """
    message_id = (message_id or "").strip()
    if not message_id:
        raise Rejected(names["messageId"], f"{names['messageId']} is required")
    if len(message_id) > MESSAGE_ID_MAX or not message_id.isprintable() or " " in message_id:
        raise Rejected(
            names["messageId"],
            f"{names['messageId']} must be 1 to {MESSAGE_ID_MAX} printable characters "
            "without spaces",
        )
    recipient = (recipient or "").strip()
    digits = recipient.removeprefix("+")
    # ASCII digits only: str.isdigit() also takes ٤ and ², which no network dials.
    if not (digits.isascii() and digits.isdigit()) or len(recipient) > RECIPIENT_MAX:
        name = names["recipient"]
        raise Rejected(name, f"{name} must be a phone number: an optional + and digits")
    code = clean_text(code)[:STATUS_CODE_MAX]
    text = clean_text(text)[:STATUS_TEXT_MAX] or code
    return Report(message_id, recipient, code, text, outcome, format_utc(event_time), raw)
