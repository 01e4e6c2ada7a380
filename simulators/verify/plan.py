"""The round trip's delivery reports in SAP Digital Interconnect's format, and what Marketing
must be served for each (docs/spec.md §2.3, §3, §4). Pure: builds queries and expectations, sends
nothing.

The expected records are written out here by hand, independently of the buffer's mapping code:
the checker is an oracle for any implementation, ours included.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from smsbounce.contracts.wire import format_utc

BURST = 250  # 2.5 pages of the article's "about 100": the round trip's window must be paged
# Which round-trip check judges a message's served record.
MAPPING, RANKING, SUCCESS = "field-mapping", "stronger-status-wins", "successes-not-served"
PREFIX_LENGTH = 10


@dataclass(frozen=True)
class RoundTripReport:
    """One delivery report as the provider sends it. DI: ``query`` goes on the wire as written;
    other providers: ``item`` is the provider's report (``formats.Item``), and reports sharing a
    non-zero ``batch`` go out in one request."""

    key: str
    message_id: str
    query: str = ""
    item: Any = None
    batch: int = 0


@dataclass(frozen=True)
class Expectation:
    """The record Marketing must be served for ``message_id`` (None: never served)."""

    key: str
    message_id: str
    judge: str
    record: dict | None


@dataclass(frozen=True)
class Plan:
    """``format``: the provider's ``formats.Format`` (None for DI's hand-written queries);
    ``notes``: per check, the cases this provider cannot have and why (shown in its evidence)."""

    reports: list[RoundTripReport]
    expectations: dict[str, Expectation]
    provider: str = "di"
    format: Any = None
    notes: dict[str, str] = field(default_factory=dict)


def run_prefix() -> str:
    """A unique, recognisable prefix for this run's message ids (10 characters)."""
    return "sbv" + secrets.token_hex(4)[:6] + "-"


def query(order_id: str, moment: datetime, msisdn: str, status: str, name: str = "orderID") -> str:
    """A well-formed report query (every reserved character percent-encoded)."""
    values = [
        (name, order_id),
        ("time", moment.strftime("%H%M%S")),
        ("date", moment.strftime("%d%m%Y")),
        ("msisdn", msisdn),
        ("status", status),
    ]
    return "&".join(f"{key}={quote(value, safe='')}" for key, value in values)


def article_query(order_id: str) -> str:
    """The article's own example with our id: lower-case ``orderid``, a raw ``+`` (which URL
    decoding turns into a space) and a quoted status. Only the spaces are escaped: a request
    line cannot carry them."""
    text = f"0x4503 Message 1 of the order {order_id} at destination of +49123456789"
    status = f"'{text} is out of coverage'"
    return (
        f"orderid={order_id}&time=155423&date=14032018&msisdn=+49123456789"
        f"&status={status.replace(' ', '%20')}"
    )


def _record(message_id, recipient, code, text, kind, moment) -> dict:
    return {
        "messageId": message_id,
        "recipient": recipient,
        "statusCode": code,
        "statusText": text,
        "type": kind,
        "timestamp": format_utc(moment),
    }


class _Builder:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.reports: list[RoundTripReport] = []
        self.expectations: dict[str, Expectation] = {}

    def send(self, key, suffix, moment, msisdn, code, text, raw=None):
        message_id = self.prefix + suffix
        status = f"{code} {text}".strip()
        self.reports.append(
            RoundTripReport(key, message_id, raw or query(message_id, moment, msisdn, status))
        )
        return message_id

    def expect(self, key, message_id, judge, record=None):
        self.expectations[message_id] = Expectation(key, message_id, judge, record)


def event_time(now: datetime) -> datetime:
    """When the round trip's reports happened: ten minutes before the run, as real ones did."""
    return now.replace(microsecond=0) - timedelta(minutes=10)


def burst_suffix(index: int) -> str:
    """The burst's id suffixes sort as they are sent (``b00000``, ``b00001`` …), so an endpoint
    that orders ties by messageId still serves them in arrival order."""
    return f"b{index:05d}"


def burst(prefix: str, now: datetime, first: int, count: int) -> Plan:
    """Burst bounces ``first`` … ``first + count - 1`` of a round trip: one hard bounce each."""
    b = _Builder(prefix)
    t, number, text = event_time(now), "+4915112345608", "No operator for this number"
    for index in range(first, first + count):
        message_id = b.send("burst", burst_suffix(index), t, number, "0x4503", text)
        record = _record(message_id, number, "0x4503", text, "Permanent", t)
        b.expect("burst", message_id, MAPPING, record)
    return Plan(b.reports, b.expectations)


def plan(prefix: str, now: datetime, burst_size: int = BURST) -> Plan:
    """Every report of one round trip, in sending order, and the expected outcome per message.

    ``now`` is the start of the run (UTC); event times lie before it, as real reports' do. The
    burst of ``burst_size`` bounces comes last (``burst`` makes more of it).
    """
    t = event_time(now)
    later, latest, old = (
        t + timedelta(seconds=60),
        t + timedelta(seconds=120),
        t - timedelta(days=3),
    )
    b = _Builder(prefix)

    def bounce(key, suffix, moment, code, kind, text, number="+4915112345601", judge=MAPPING):
        message_id = b.send(key, suffix, moment, number, code, text)
        b.expect(key, message_id, judge, _record(message_id, number, code, text, kind, moment))
        return message_id

    coverage = "Message 1 of the order {} at destination of {} is out of coverage"
    perm = prefix + "perm"
    bounce("permanent", "perm", t, "0x4503", "Permanent", coverage.format(perm, "+4915112345601"))
    bounce("temporary", "temp", t, "0xDBF3", "Temporary", "Provider is retrying the delivery")
    for key, suffix, code, text in (
        ("success", "ok", "0x451A", "Message delivered to handset"),
        ("success without code", "ok2", "", "Message delivered"),
    ):
        b.expect(key, b.send(key, suffix, t, "+4915112345602", code, text), SUCCESS)

    quirky = prefix + "art"
    text = coverage.format(quirky, "+49123456789")
    b.send("article example", "art", t, "", "", "", raw=article_query(quirky))
    moment = datetime(2018, 3, 14, 15, 54, 23)
    b.expect(
        "article example",
        quirky,
        MAPPING,
        _record(quirky, "+49123456789", "0x4503", text, "Permanent", moment),
    )

    duplicate = bounce("duplicate", "dup", t, "0xDB62", "Permanent", "Delivery failed")
    b.reports.append(b.reports[-1])
    assert b.reports[-1].message_id == duplicate

    # Out of order: the newer, stronger report arrives first; the older one must not replace it.
    b.send("out-of-order", "ooo", later, "+4915112345603", "0xDB65", "Validity period expired")
    b.send("out-of-order", "ooo", t, "+4915112345603", "0xDBF3", "Provider is retrying")
    expected = _record(
        prefix + "ooo", "+4915112345603", "0xDB65", "Validity period expired", "Permanent", later
    )
    b.expect("out-of-order", prefix + "ooo", RANKING, expected)
    # Upgrade: a soft bounce, then the hard bounce for the same message replaces it.
    b.send("upgrade", "up", t, "+4915112345604", "0xDBF3", "Provider is retrying")
    b.send("upgrade", "up", later, "+4915112345604", "0xDB52", "Delivery failed")
    expected = _record(
        prefix + "up", "+4915112345604", "0xDB52", "Delivery failed", "Permanent", later
    )
    b.expect("upgrade", prefix + "up", RANKING, expected)
    # A success arriving after a hard bounce is weaker: the bounce stays.
    b.send("weaker later", "weak", t, "+4915112345605", "0x4524", "Recipient is blacklisted")
    b.send("weaker later", "weak", latest, "+4915112345605", "0x451A", "Message delivered")
    expected = _record(
        prefix + "weak", "+4915112345605", "0x4524", "Recipient is blacklisted", "Permanent", t
    )
    b.expect("weaker later", prefix + "weak", RANKING, expected)

    # Late: the event is days old; windows select on arrival, so it must still be served.
    bounce("late", "late", old, "0xDB05", "Permanent", "Recipient is barred")
    more = burst(prefix, now, 0, burst_size)
    return Plan(b.reports + more.reports, {**b.expectations, **more.expectations})
