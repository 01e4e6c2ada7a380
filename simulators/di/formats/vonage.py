"""Vonage SMS delivery receipts: GET with msisdn, messageId, status, err-code, scts."""

from __future__ import annotations

from ..scenario import DELIVERED, TEMPORARY
from .base import (
    UTC,
    Format,
    Item,
    Request,
    Stored,
    buffer_text,
    encode_pairs,
    join_url,
    outcome_kind,
    yymmddhhmm,
)

# DI code → (status, err-code). The buffer's vonage profile: err-code 2, 7, 8 are Temporary.
VONAGE = {
    DELIVERED: ("delivered", "0"),
    "0x450E": ("accepted", "0"),
    "0x450A": ("buffered", "0"),
    TEMPORARY: ("failed", "2"),  # Absent subscriber - temporary
    "0x4503": ("failed", "12"),  # Destination unreachable
    "0x4524": ("rejected", "14"),  # Number blocked by carrier
    "0xDB05": ("failed", "4"),  # Call barred by user
    "0xDB52": ("failed", "99"),  # General error
    "0xDB62": ("failed", "11"),  # Unroutable
    "0xDB65": ("expired", "1"),  # Unknown (the validity period elapsed)
    "0xDB76": ("rejected", "54"),  # Regulation error
    "0xDB78": ("rejected", "15"),  # Pre-paid insufficient funds
    "0xDB99": ("failed", "5"),  # Portability error
    "*": ("failed", "99"),
}
VONAGE_TEMPORARY = ("2", "7", "8")
# The readable reason the buffer's vonage profile gives each err-code sent above, from Vonage's
# err-code table (developer.vonage.com/messaging/sms/guides/delivery-receipts); others get
# "<status> (code <err-code>)".
VONAGE_REASONS = {
    "1": "Unknown: not delivered, and the network gave no reason (Vonage err-code 1)",
    "2": "Absent subscriber: the phone was temporarily unavailable (off or out of coverage); "
    "try again later (Vonage err-code 2)",
    "4": "Call barred by user: the number cannot receive SMS; remove it, the subscriber must ask "
    "the operator to lift the bar (Vonage err-code 4)",
    "5": "Portability error: a problem with the ported number; the subscriber should contact the "
    "operator (Vonage err-code 5)",
    "11": "Unroutable: no route to deliver the message to this number (Vonage err-code 11)",
    "12": "Destination unreachable: no route to the number; check that the number is right "
    "(Vonage err-code 12)",
    "14": "Number blocked by carrier: the recipient must ask the carrier to enable SMS on the "
    "plan (Vonage err-code 14)",
    "15": "Prepaid insufficient funds: the recipient's prepaid plan has no credit to receive the "
    "message (Vonage err-code 15)",
    "99": "General error, typically in the route (Vonage err-code 99)",
}


class Vonage(Format):
    name = "vonage"
    title = "GET ?msisdn=…&to=…&messageId=…&status=…&err-code=…&scts=YYMMDDhhmm …"

    def _spec(self, code):
        return VONAGE.get(code, VONAGE["*"])

    def item(self, report):
        status, error = self._spec(report.planned.code)
        moment = report.planned.event_time.astimezone(UTC)
        fields = (
            ("msisdn", report.recipient.removeprefix("+")),
            ("to", report.originator),
            ("network-code", "26201"),
            ("messageId", report.order_id),
            ("price", "0.03330000"),
            ("status", status),
            ("scts", yymmddhhmm(moment)),
            ("err-code", error),
            ("api-key", "abcd1234"),
            ("message-timestamp", moment.strftime("%Y-%m-%d %H:%M:%S")),
        )
        return Item(fields, f"status={status} err-code={error}")

    def stored(self, report):
        status, error = self._spec(report.planned.code)
        kind = outcome_kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Temporary" if error in VONAGE_TEMPORARY else "Permanent"
        return Stored(
            kind,
            error,
            buffer_text(VONAGE_REASONS.get(error), status, error),
            report.recipient,
            report.planned.event_time,
            resolution=60,
        )

    def request(self, address, items):
        (item,) = items
        return Request("GET", join_url(address, encode_pairs(item.fields)))
