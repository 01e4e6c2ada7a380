"""Kannel: GET on the dlr-url with its %-escapes filled in."""

from __future__ import annotations

from urllib.parse import quote

from ..scenario import DELIVERED, TEMPORARY
from .base import Format, Item, Request, Stored, buffer_text, join_url, yymmddhhmm

# DI code → (type, SMSC answer). %d: 1 delivered, 2 not delivered to the phone, 4 buffered,
# 8 delivered to the SMSC, 16 not delivered to (rejected by) the SMSC. Kannel has no transient
# failure: 0xDBF3 (the platform is retrying) is reported as 4, buffered — an intermediate report.
KANNEL = {
    DELIVERED: (1, "DELIVRD", "000"),
    "0x450E": (8, None, "ACK/"),
    "0x450A": (8, None, "ACK/"),
    TEMPORARY: (4, None, ""),
    "0x4503": (2, "UNDELIV", "001"),
    "0x4524": (16, None, "NACK/0x00000058/Throttling error"),
    "0xDB05": (2, "REJECTD", "013"),
    "0xDB52": (2, "UNDELIV", "032"),
    "0xDB62": (2, "UNDELIV", "034"),
    "0xDB65": (2, "EXPIRED", "027"),
    "0xDB76": (16, None, "NACK/0x0000000B/Invalid Destination Address"),
    "0xDB78": (2, "REJECTD", "045"),
    "0xDB99": (2, "UNDELIV", "005"),
    "*": (2, "UNDELIV", "032"),
}


class Kannel(Format):
    name = "kannel"
    title = "GET <dlr-url>?id=<order id>&to=%P&type=%d&reply=%A&ts=%T"

    def _spec(self, code):
        return KANNEL.get(code, KANNEL["*"])

    def _reply(self, report) -> str:
        kind, stat, err = self._spec(report.planned.code)
        if stat is None:
            return err  # the SMSC's submit answer (ACK/, NACK/…) or nothing
        done, submitted = report.planned.event_time, report.accepted_at
        delivered = "001" if stat == "DELIVRD" else "000"
        return (
            f"id:{report.order_id} sub:001 dlvrd:{delivered} "
            f"submit date:{yymmddhhmm(submitted)} done date:{yymmddhhmm(done)} "
            f"stat:{stat} err:{err} text:{report.sms_text[:20]}"
        )

    def item(self, report):
        kind, _, _ = self._spec(report.planned.code)
        fields = (
            ("id", report.order_id),
            ("to", report.recipient),
            ("type", str(kind)),
            ("reply", self._reply(report)),
            ("ts", str(int(report.planned.event_time.timestamp()))),
        )
        return Item(fields, f"type={kind}", raw_plus=report.planned.raw_plus)

    def stored(self, report):
        kind, stat, err = self._spec(report.planned.code)
        reply = self._reply(report)
        code = err if stat is not None else ""  # the buffer reads err:NNN out of the reply
        outcome = {1: "delivered", 2: "Permanent", 4: "intermediate", 8: "intermediate"}
        event_time = report.planned.event_time.replace(microsecond=0)
        return Stored(
            outcome.get(kind, "Permanent"),
            code,
            # The buffer cuts the reply's text: part (the start of the SMS) off the reason.
            buffer_text(reply.split(" text:", 1)[0], str(kind), code),
            report.recipient,
            event_time,
        )

    def request(self, address, items):
        (item,) = items
        # Kannel escapes its %-values; with raw_plus only the + of "to" goes raw.
        pairs = [(n, v) for n, v in item.fields]
        query = "&".join(
            f"{name}={quote(value, safe='+' if item.raw_plus and name == 'to' else '')}"
            for name, value in pairs
        )
        return Request("GET", join_url(address, query))
