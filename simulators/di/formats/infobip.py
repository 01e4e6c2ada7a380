"""Infobip delivery reports: JSON POST, reports batched under results."""

from __future__ import annotations

import json

from ..scenario import DELIVERED, TEMPORARY
from .base import Format, Item, Request, Stored, buffer_text, iso_ms, outcome_kind

# DI code → (status group id, group name, status id, name, description) and
# (error id, name, description, permanent). The buffer's infobip profile types a failure by
# error.permanent; statusCode is error.id, statusText error.description.
_NO_ERROR = (0, "NO_ERROR", "No Error", False)
_UNDELIVERABLE = (
    2,
    "UNDELIVERABLE",
    9,
    "UNDELIVERABLE_NOT_DELIVERED",
    "Message sent not delivered",
)
_REJECTED = (5, "REJECTED", 6, "REJECTED_NETWORK", "Network is forbidden")
INFOBIP = {
    DELIVERED: (
        (3, "DELIVERED", 5, "DELIVERED_TO_HANDSET", "Message delivered to handset"),
        _NO_ERROR,
    ),
    "0x450E": ((1, "PENDING", 26, "PENDING_ACCEPTED", "Message accepted"), _NO_ERROR),
    "0x450A": ((1, "PENDING", 7, "PENDING_ENROUTE", "Message sent to next instance"), _NO_ERROR),
    TEMPORARY: (_UNDELIVERABLE, (27, "EC_ABSENT_SUBSCRIBER", "Absent Subscriber", False)),
    "0x4503": (_UNDELIVERABLE, (1, "EC_UNKNOWN_SUBSCRIBER", "Unknown Subscriber", True)),
    "0x4524": (_REJECTED, (13, "EC_CALL_BARRED", "Call Barred", True)),
    "0xDB05": (_UNDELIVERABLE, (13, "EC_CALL_BARRED", "Call Barred", True)),
    "0xDB52": (_UNDELIVERABLE, (32, "EC_SM_DELIVERY_FAILURE", "SM Delivery Failure", True)),
    "0xDB62": (_UNDELIVERABLE, (34, "EC_SYSTEM_FAILURE", "System Failure", True)),
    "0xDB65": (_UNDELIVERABLE, (32, "EC_SM_DELIVERY_FAILURE", "SM Delivery Failure", True)),
    "0xDB76": (
        _REJECTED,
        (11, "EC_TELESERVICE_NOT_PROVISIONED", "Teleservice Not Provisioned", True),
    ),
    "0xDB78": (_REJECTED, (4096, "EC_INSUFFICIENT_FUNDS", "Insufficient funds", True)),
    "0xDB99": (_UNDELIVERABLE, (5, "EC_UNIDENTIFIED_SUBSCRIBER", "Unidentified Subscriber", True)),
    "*": (_UNDELIVERABLE, (32, "EC_SM_DELIVERY_FAILURE", "SM Delivery Failure", True)),
}


class Infobip(Format):
    name = "infobip"
    title = 'JSON POST {"results": [{messageId, to, doneAt, status{…}, error{…permanent}} …]}'
    batch = True

    def _spec(self, code):
        return INFOBIP.get(code, INFOBIP["*"])

    def item(self, report):
        (group_id, group, status_id, status_name, description), error = self._spec(
            report.planned.code
        )
        error_id, error_name, error_text, permanent = error
        document = {
            "bulkId": f"BULK-{report.order_id}",
            "messageId": report.order_id,
            "to": report.recipient.removeprefix("+"),
            "sentAt": iso_ms(report.accepted_at, "+0000"),
            "doneAt": iso_ms(report.planned.event_time, "+0000"),
            "smsCount": 1,
            "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "status": {
                "groupId": group_id,
                "groupName": group,
                "id": status_id,
                "name": status_name,
                "description": description,
            },
            "error": {
                "groupId": 0 if error_id == 0 else 1,
                "groupName": "OK" if error_id == 0 else "HANDSET_ERRORS",
                "id": error_id,
                "name": error_name,
                "description": error_text,
                "permanent": permanent,
            },
        }
        summary = f"status.groupName={group} error.id={error_id} error.permanent={permanent}"
        return Item(document, summary.replace("True", "true").replace("False", "false"))

    def stored(self, report):
        (_, group, *_), (error_id, _, error_text, permanent) = self._spec(report.planned.code)
        kind = outcome_kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Permanent" if permanent else "Temporary"
        return Stored(
            kind,
            str(error_id),
            buffer_text(error_text, group, str(error_id)),
            report.recipient,
            report.planned.event_time,
        )

    def request(self, address, items):
        body = json.dumps({"results": [item.fields for item in items]}).encode()
        return Request("POST", address, body, {"Content-Type": "application/json"})
