"""The round trip's reports in any built-in provider's format but DI's, and what Marketing must be
served for each. Pure: builds requests and expectations, sends nothing.

The formats come from the DI simulator (``simulators/provider/formats.py``): it already builds
each provider's callback from the provider's documentation and predicts what a buffer that
follows docs/spec.md §3–§4 stores for it. Verify reuses both halves — it never imports the buffer,
so it
stays an oracle for any implementation. The cases speak DI codes (``0x4503``, ``0xDBF3`` …), which
each format maps onto its provider's states and codes.

Codes are chosen so that every bounce carries its own event time in every format (Twilio's
``failed`` callbacks have none and would be stamped with their arrival).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from smsbounce.simulators.di.formats import Format, ReportContext, Stored, make_format
from smsbounce.simulators.di.scenario import DELIVERED, TEMPORARY, PlannedReport

from .plan import (
    BURST,
    MAPPING,
    RANKING,
    SUCCESS,
    Expectation,
    Plan,
    RoundTripReport,
    burst_suffix,
    event_time,
)

PROVIDERS = ("twilio", "vonage", "infobip", "sinch", "kannel", "jasmin")
INFOBIP_BATCH = 50  # Infobip sends up to 100 reports per request; the burst goes in batches
ORIGINATOR = "SMSBOUNCE"
SMS_TEXT = "smsbounce verify test"
PROGRESS = "0x450E"  # accepted by the platform: an intermediate report
# DI codes of the hard bounces sent (each an "undelivered"-like state with a time everywhere)
HARD, HARD_DUPLICATE, HARD_UPGRADE, HARD_NEWER, HARD_WEAKER = (
    "0x4503", "0xDB62", "0xDB52", "0xDB62", "0xDB99",
)  # fmt: skip


def _record(message_id: str, stored: Stored) -> dict:
    return {
        "messageId": message_id,
        "recipient": stored.recipient,
        "statusCode": stored.code,
        "statusText": stored.text,
        "type": stored.type,
        "timestamp": stored.stamp(),
    }


class _Builder:
    def __init__(self, fmt: Format, prefix: str):
        self.fmt = fmt
        self.prefix = prefix
        self.reports: list[RoundTripReport] = []
        self.expectations: dict[str, Expectation] = {}
        self.notes: dict[str, list[str]] = {}

    def context(self, message_id, recipient, code, moment) -> ReportContext:
        planned = PlannedReport(code, code, code, moment, 0.0)
        return ReportContext(
            message_id, recipient, 1, ORIGINATOR, SMS_TEXT, moment - timedelta(seconds=5), planned
        )

    def send(self, key, suffix, recipient, code, moment, batch=0) -> Stored:
        message_id = self.prefix + suffix
        context = self.context(message_id, recipient, code, moment)
        self.reports.append(
            RoundTripReport(key, message_id, item=self.fmt.item(context), batch=batch)
        )
        return self.fmt.stored(context)

    def expect(self, key, suffix, judge, stored: Stored | None = None) -> None:
        message_id = self.prefix + suffix
        record = None if stored is None else _record(message_id, stored)
        self.expectations[message_id] = Expectation(key, message_id, judge, record)

    def note(self, check: str, text: str) -> None:
        self.notes.setdefault(check, []).append(text)


def has_temporary(fmt: Format) -> bool:
    """Whether the provider has a transient failure (a soft bounce) at all."""
    sample = datetime(2026, 1, 1, tzinfo=timezone.utc)
    planned = PlannedReport(TEMPORARY, "", TEMPORARY, sample, 0.0)
    context = ReportContext("1", "+4915112345678", 1, ORIGINATOR, SMS_TEXT, sample, planned)
    return fmt.stored(context).type == "Temporary"


def plan(
    provider: str,
    prefix: str,
    now: datetime,
    *,
    twilio_auth_token: str | None = None,
    burst_size: int = BURST,
) -> Plan:
    """Every report of one round trip in ``provider``'s format, in sending order, and the
    expected outcome per message. ``now`` is the start of the run (UTC)."""
    fmt = make_format(provider, twilio_auth_token=twilio_auth_token)
    t = event_time(now)
    later, latest, old = t + timedelta(minutes=1), t + timedelta(minutes=2), t - timedelta(days=3)
    b = _Builder(fmt, prefix)

    def bounce(key, suffix, recipient, code, moment=t, batch=0):
        b.expect(key, suffix, MAPPING, b.send(key, suffix, recipient, code, moment, batch))

    bounce("permanent", "perm", "+4915112345601", HARD)
    soft = has_temporary(fmt)
    if soft:
        bounce("temporary", "temp", "+4915112345601", TEMPORARY)
    else:
        b.note(MAPPING, f"{provider} has no temporary failure: no soft bounce sent")
    for key, suffix, code in (("success", "ok", DELIVERED), ("progress", "prog", PROGRESS)):
        b.send(key, suffix, "+4915112345602", code, t)
        b.expect(key, suffix, SUCCESS)

    bounce("duplicate", "dup", "+4915112345606", HARD_DUPLICATE)
    b.reports.append(b.reports[-1])

    if soft:
        # Out of order: the newer, stronger report arrives first; the older one must not win.
        newer = b.send("out-of-order", "ooo", "+4915112345603", HARD_NEWER, later)
        b.send("out-of-order", "ooo", "+4915112345603", TEMPORARY, t)
        b.expect("out-of-order", "ooo", RANKING, newer)
        # Upgrade: a soft bounce, then the hard bounce for the same message replaces it.
        b.send("upgrade", "up", "+4915112345604", TEMPORARY, t)
        b.expect(
            "upgrade", "up", RANKING, b.send("upgrade", "up", "+4915112345604", HARD_UPGRADE, later)
        )
    else:
        b.note(
            RANKING,
            f"{provider} has no temporary failure: no upgrade or out-of-order pair sent",
        )
    # A success arriving after a hard bounce is weaker: the bounce stays.
    first = b.send("weaker later", "weak", "+4915112345605", HARD_WEAKER, t)
    b.send("weaker later", "weak", "+4915112345605", DELIVERED, latest)
    b.expect("weaker later", "weak", RANKING, first)

    # Late: the event is days old; windows select on arrival, so it must still be served.
    bounce("late", "late", "+4915112345607", HARD, old)
    _burst(b, t, 0, burst_size)
    notes = {check: "; ".join(texts) for check, texts in b.notes.items()}
    return Plan(b.reports, b.expectations, provider=provider, format=fmt, notes=notes)


def _burst(b: _Builder, t: datetime, first: int, count: int) -> None:
    for index in range(first, first + count):
        batch = 1 + index // INFOBIP_BATCH if b.fmt.batch else 0
        suffix = burst_suffix(index)
        stored = b.send("burst", suffix, "+4915112345608", HARD, t, batch)
        b.expect("burst", suffix, MAPPING, stored)


def burst(plan_: Plan, prefix: str, now: datetime, first: int, count: int) -> Plan:
    """Burst bounces ``first`` … ``first + count - 1`` in ``plan_``'s format (its requests go out
    on their own: a batch never spans two plans)."""
    b = _Builder(plan_.format, prefix)
    _burst(b, event_time(now), first, count)
    return Plan(b.reports, b.expectations, provider=plan_.provider, format=plan_.format)
