"""Jasmin: form POST receipts to the dlr-url, answered ACK/Jasmin."""

from __future__ import annotations

from urllib.parse import urlencode

from ..scenario import DELIVERED, TEMPORARY
from .base import (
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

JASMIN_ACK = "ACK/Jasmin"  # the only answer Jasmin takes as "received"

# DI code → (message_status, err). The buffer's jasmin profile: EXPIRED is Temporary.
JASMIN = {
    DELIVERED: ("DELIVRD", "000"),
    "0x450E": ("ACCEPTD", "000"),
    "0x450A": ("ENROUTE", "000"),
    TEMPORARY: ("EXPIRED", "027"),
    "0x4503": ("UNDELIV", "001"),
    "0x4524": ("REJECTD", "013"),
    "0xDB05": ("REJECTD", "013"),
    "0xDB52": ("UNDELIV", "032"),
    "0xDB62": ("UNDELIV", "034"),
    "0xDB65": ("UNDELIV", "031"),  # EXPIRED would be a soft bounce in Jasmin's terms
    "0xDB76": ("REJECTD", "011"),
    "0xDB78": ("REJECTD", "045"),
    "0xDB99": ("UNDELIV", "005"),
    "*": ("UNDELIV", "032"),
}


class Jasmin(Format):
    name = "jasmin"
    title = "form POST id, level, message_status, donedate, err, text … to <dlr-url>?to=<recipient>"

    def _spec(self, code):
        return JASMIN.get(code, JASMIN["*"])

    def item(self, report):
        status, err = self._spec(report.planned.code)
        smsc_id = f"{report.position:08x}"
        # In the order Jasmin 0.11 sends them; `connector` carries the SMSC's message id on a
        # level-2 receipt (Jasmin's own mix-up), `id_smsc` that id read as a number.
        fields = (
            ("id", report.order_id),
            ("level", "2"),
            ("message_status", status),
            ("connector", smsc_id),
            ("id_smsc", f"{int(smsc_id, 16):X}"),
            ("sub", "001"),
            ("dlvrd", "001" if status == "DELIVRD" else "000"),
            ("subdate", yymmddhhmm(report.accepted_at)),
            ("donedate", yymmddhhmm(report.planned.event_time)),
            ("err", err),
            ("text", report.sms_text[:20]),  # the first 20 characters of the message, as Jasmin
        )
        # Jasmin's receipts carry no recipient: the integration puts it into the dlr-url.
        return Item(
            fields,
            f"message_status={status} err={err}",
            raw_plus=report.planned.raw_plus,
            query=(("to", report.recipient),),
        )

    def stored(self, report):
        status, err = self._spec(report.planned.code)
        kind = outcome_kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Temporary" if status == "EXPIRED" else "Permanent"
        # The buffer does not read Jasmin's `text` (the message's start): no content in reasons.
        text = buffer_text(None, status, err)
        return Stored(kind, err, text, report.recipient, report.planned.event_time, resolution=60)

    def request(self, address, items):
        (item,) = items
        url = join_url(address, encode_pairs(item.query, item.raw_plus))
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return Request("POST", url, urlencode(item.fields).encode(), headers)

    def accepted(self, status, body):
        # Jasmin retries unless the body is exactly ACK/Jasmin.
        return 200 <= status < 300 and body.strip() == JASMIN_ACK
