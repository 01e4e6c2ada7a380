"""What every report format shares: the planned report it is shown, the request it builds and
what the buffer will store; small wire helpers. One provider per module beside this one.

The scenario speaks DI codes (``0x451A``, ``0xDBF3``, ``0x4503`` …); each format maps them onto its
provider's states and codes so that the buffer classifies them the same way (delivered,
intermediate, Temporary, Permanent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ..scenario import DELIVERED, INTERMEDIATE, PERMANENT, TEMPORARY, PlannedReport

UTC = timezone.utc
STATUS_TEXT_MAX = 250  # the buffer's limits (docs/spec.md §2.2)
STATUS_CODE_MAX = 10


@dataclass(frozen=True)
class ReportContext:
    """Everything a format may put into one report."""

    order_id: str
    recipient: str  # as sent in the order: an optional + and digits
    position: int
    originator: str
    sms_text: str
    accepted_at: datetime
    planned: PlannedReport
    zone: ZoneInfo = ZoneInfo("UTC")  # DI's date/time zone; the other formats send UTC


@dataclass(frozen=True)
class Item:
    """One report on the wire. ``fields``: ordered pairs (query or form) or a JSON object."""

    fields: tuple[tuple[str, str], ...] | dict
    summary: str  # a one-line description for /_sim/messages (``status``)
    raw_plus: bool = False  # + and ' unescaped in the URL
    query: tuple[tuple[str, str], ...] = ()  # added to the callback URL (Jasmin's ``to``)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        return None if self.body is None else self.body.decode()


@dataclass(frozen=True)
class Stored:
    """What the buffer stores (bounces) or merely acknowledges (delivered, intermediate).

    ``event_time`` None: the report carries no time the buffer reads, so the buffer stamps its
    arrival (Twilio). ``resolution``: the precision of the time on the wire (60 s for
    ``YYMMDDhhmm``), so the stored timestamp is the event time cut down to it.
    """

    type: str  # delivered / intermediate / Temporary / Permanent
    code: str
    text: str
    recipient: str
    event_time: datetime | None
    resolution: int = 1

    def stamp(self, arrived: datetime | None = None) -> str:
        """Marketing's ``timestamp`` (UTC ``YYYYMMDDhhmmss``) the buffer will serve."""
        moment = self.event_time if self.event_time is not None else arrived
        if moment is None:
            raise ValueError("a report without an event time needs its arrival time")
        moment = moment.astimezone(UTC)
        if self.resolution == 60:
            moment = moment.replace(second=0)
        return moment.strftime("%Y%m%d%H%M%S")


def buffer_text(text: str | None, state: str, code: str) -> str:
    """The statusText the buffer's generic profile stores: the provider's text, whitespace
    collapsed and cut to 250, or ``<state> (code <code>)`` when the report has none."""
    if not text or not text.strip():
        text = " ".join(part for part in (state, code and f"(code {code})") if part)
    return " ".join(text.split())[:STATUS_TEXT_MAX] or code


def join_url(address: str, query: str) -> str:
    if not query:
        return address
    joiner = "" if address.endswith(("?", "&")) else "&" if "?" in address else "?"
    return address + joiner + query


def encode_pairs(pairs, raw_plus: bool = False) -> str:
    safe = "+'" if raw_plus else ""
    return "&".join(f"{name}={quote(value, safe=safe)}" for name, value in pairs)


def yymmddhhmm(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%y%m%d%H%M")


def iso_ms(moment: datetime, z: str = "Z") -> str:
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + z


class Format:
    """One provider's callback format. Subclasses map DI codes via ``_spec``."""

    name: str = ""
    title: str = ""
    batch: bool = False  # several reports per request allowed
    timestamp: str = "event"  # "arrival" when the buffer stamps its own time

    def item(self, report: ReportContext) -> Item:
        raise NotImplementedError

    def stored(self, report: ReportContext) -> Stored:
        raise NotImplementedError

    def request(self, address: str, items: list[Item]) -> Request:
        raise NotImplementedError

    def accepted(self, status: int, body: str) -> bool:
        """Whether the receiver's answer acknowledges the report (else it is retried)."""
        return 200 <= status < 300

    def describe(self) -> dict[str, Any]:
        """The mapping for ``/_sim/profile`` and the docs: per DI code, what is sent and what
        the buffer stores. ``*`` is any other DI code (a hard bounce)."""
        sample = datetime(2026, 1, 1, tzinfo=UTC)
        outcomes = {}
        for code in (DELIVERED, *INTERMEDIATE, TEMPORARY, *PERMANENT, "*"):
            planned = PlannedReport(code, "text", f"{code} text", sample, 0.0)
            report = ReportContext("1", "+4915112345678", 1, "ACME", "Hello", sample, planned)
            stored = self.stored(report)
            outcomes[code] = {
                "sent": self.item(report).summary,
                "type": stored.type,
                "statusCode": stored.code,
            }
        return {
            "name": self.name,
            "request": self.title,
            "batch": self.batch,
            "timestamp": self.timestamp,
            "outcomes": outcomes,
        }


def outcome_kind(code: str) -> str:
    """The outcome a DI code plans: delivered, intermediate, temporary or permanent."""
    if code == DELIVERED:
        return "delivered"
    if code in INTERMEDIATE:
        return "intermediate"
    return "temporary" if code == TEMPORARY else "permanent"
