"""Sinch recipient delivery reports: JSON POST, one per recipient."""

from __future__ import annotations

import json

from ..scenario import DELIVERED, TEMPORARY
from .base import Format, Item, Request, Stored, buffer_text, iso_ms, outcome_kind

# DI code → (status, code). The buffer's sinch profile types by status: Expired is Temporary.
SINCH = {
    DELIVERED: ("Delivered", 0),
    "0x450E": ("Queued", 400),
    "0x450A": ("Dispatched", 401),
    TEMPORARY: ("Expired", 406),  # Internal expiry
    "0x4503": ("Failed", 417),  # Delivery report unreachable
    "0x4524": ("Rejected", 413),  # Blocked
    "0xDB05": ("Rejected", 413),
    "0xDB52": ("Failed", 418),  # Delivery report unknown
    "0xDB62": ("Failed", 415),  # Delivery report rejected
    "0xDB65": ("Failed", 402),  # Message unroutable
    "0xDB76": ("Rejected", 408),  # Internal reject
    "0xDB78": ("Aborted", 403),  # Internal error
    "0xDB99": ("Failed", 402),
    "*": ("Failed", 418),
}

# The readable reason the buffer's sinch profile gives each code sent above, from Sinch's
# delivery-report error codes (developers.sinch.com/docs/sms/api-reference/sms/delivery-reports/
# delivery-report-error-codes); others get "<status> (code <code>)".
SINCH_REASONS = {
    402: "Message unroutable: the SMSC rejected the message; retrying is likely to fail the same "
    "way (Sinch code 402)",
    403: "Internal error: an unexpected error at Sinch caused the message to fail (Sinch code 403)",
    406: "Internal expiry: the message expired before it reached the SMSC (Sinch code 406)",
    408: "Internal reject: the SMSC rejected the message; retrying is likely to fail the same way "
    "(Sinch code 408)",
}


class Sinch(Format):
    name = "sinch"
    title = "JSON POST recipient_delivery_report_sms {batch_id, recipient, status, code, at}"

    def _spec(self, code):
        return SINCH.get(code, SINCH["*"])

    def item(self, report):
        status, code = self._spec(report.planned.code)
        document = {
            "type": "recipient_delivery_report_sms",
            "batch_id": report.order_id,
            "recipient": report.recipient,
            "code": code,
            "status": status,
            "at": iso_ms(report.planned.event_time),
            "operator_status_at": iso_ms(report.planned.event_time),
        }
        return Item(document, f"status={status} code={code}")

    def stored(self, report):
        status, code = self._spec(report.planned.code)
        kind = outcome_kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Temporary" if status == "Expired" else "Permanent"
        text = buffer_text(SINCH_REASONS.get(code), status, str(code))
        return Stored(kind, str(code), text, report.recipient, report.planned.event_time)

    def request(self, address, items):
        (item,) = items
        body = json.dumps(item.fields).encode()
        return Request("POST", address, body, {"Content-Type": "application/json"})
