"""Kannel: smsbox's GET on the dlr-url, as a real Kannel 1.4.5 fills in the escapes of the
documented recipe ``?id=<own id>&to=%q&type=%d&reply=%A&ts=%T`` (docs/providers.md)."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from ..scenario import DELIVERED, TEMPORARY
from .base import Format, Item, Request, Stored, buffer_text, join_url, yymmddhhmm

# DI code → (%d, receipt stat or None, err or the SMSC's answer). %d: 1 delivered, 2 not
# delivered to the phone, 4 buffered, 8 accepted by the SMSC, 16 not accepted by it. A receipt's
# stat:EXPIRED is a soft bounce, so DI's 0xDB65 (a hard one) goes out as REJECTD; a rejected
# submit is NACK/<SMPP status>/<text>, or a bare NACK/ for a multi-part SMS.
KANNEL = {
    DELIVERED: (1, "DELIVRD", "000"),
    "0x450E": (8, None, "ACK/"),
    "0x450A": (8, None, "ACK/"),
    TEMPORARY: (2, "EXPIRED", "027"),
    "0x4503": (2, "UNDELIV", "001"),
    "0x4524": (16, None, "NACK/"),
    "0xDB05": (2, "REJECTD", "013"),
    "0xDB52": (2, "UNDELIV", "032"),
    "0xDB62": (2, "UNDELIV", "034"),
    "0xDB65": (2, "REJECTD", "027"),
    "0xDB76": (16, None, "NACK/0x0000000b/Invalid Destination Address"),
    "0xDB78": (2, "REJECTD", "045"),
    "0xDB99": (2, "UNDELIV", "005"),
    "*": (2, "UNDELIV", "032"),
}
# What the buffer's kannel profile says when the SMSC gave no reason (its "reasons").
BARE_NACK = "rejected by the SMSC without a reason (NACK/; e.g. a part of a multi-part SMS)"
_NACK = re.compile(r"NACK/(0x[0-9A-Fa-f]{1,8})/\s*(.*)", re.DOTALL)


class Kannel(Format):
    name = "kannel"
    title = "GET <dlr-url>?id=<order id>&to=%q&type=%d&reply=%A&ts=%T"

    def _spec(self, code):
        return KANNEL.get(code, KANNEL["*"])

    def _reply(self, report) -> str:
        kind, stat, err = self._spec(report.planned.code)
        if stat is None:
            return err  # the SMSC's submit answer (ACK/, NACK/…)
        done, submitted = report.planned.event_time, report.accepted_at
        delivered = "001" if stat == "DELIVRD" else "000"
        # Real SMSCs copy the SMS's first octets, line breaks included, after text:.
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
        return Item(fields, f"type={kind}")

    def stored(self, report):
        kind, stat, err = self._spec(report.planned.code)
        reply = self._reply(report)
        nack = _NACK.fullmatch(reply)
        if stat is not None:
            # The buffer reads err: and stat: before text:, and cuts text: (the SMS) off.
            code, text = err, reply.split(" text:", 1)[0]
        elif nack:
            code, text = nack.group(1), nack.group(2)
        else:
            code, text = "", BARE_NACK if reply == "NACK/" else reply
        if kind == 1:
            outcome = "delivered"
        elif kind in (4, 8):
            outcome = "intermediate"
        else:
            outcome = "Temporary" if stat == "EXPIRED" else "Permanent"
        event_time = report.planned.event_time.replace(microsecond=0)
        return Stored(
            outcome, code, buffer_text(text, str(kind), code), report.recipient, event_time
        )

    def request(self, address, items):
        (item,) = items
        # smsbox URL-encodes every value it fills in: a space is +, a + is always %2B.
        query = "&".join(f"{name}={quote_plus(value, safe='')}" for name, value in item.fields)
        return Request("GET", join_url(address, query))
