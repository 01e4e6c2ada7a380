"""Twilio status callbacks: form POST, signed with X-Twilio-Signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

from ..scenario import DELIVERED, TEMPORARY
from .base import Format, Item, Request, Stored, buffer_text, outcome_kind, yymmddhhmm


def twilio_signature(auth_token: str, url: str, params) -> str:
    """``X-Twilio-Signature``: HMAC-SHA1 over the URL called followed by every POST parameter
    (name + value, sorted by name), base64 — as Twilio documents it."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# DI code → (MessageStatus, ErrorCode). The buffer's twilio profile: ErrorCode 30001/30003 are
# Temporary, every other failed/undelivered is Permanent.
TWILIO = {
    DELIVERED: ("delivered", ""),
    "0x450E": ("queued", ""),
    "0x450A": ("sent", ""),
    TEMPORARY: ("undelivered", "30003"),  # Unreachable destination handset
    "0x4503": ("undelivered", "30005"),  # Unknown destination handset
    "0x4524": ("undelivered", "30004"),  # Message blocked
    "0xDB05": ("failed", "21610"),  # Attempt to send to unsubscribed recipient
    "0xDB52": ("undelivered", "30008"),  # Unknown error
    "0xDB62": ("undelivered", "30007"),  # Message filtered (carrier violation)
    "0xDB65": ("failed", "30036"),  # Validity period expired
    "0xDB76": ("undelivered", "30006"),  # Landline or unreachable carrier
    "0xDB78": ("failed", "30002"),  # Account suspended
    "0xDB99": ("undelivered", "30008"),
    "*": ("undelivered", "30008"),
}
TWILIO_TEMPORARY = ("30001", "30003")


class Twilio(Format):
    name = "twilio"
    title = "form POST MessageSid, MessageStatus, To, ErrorCode … (+ X-Twilio-Signature)"
    # failed/queued callbacks carry no time: the buffer stamps their arrival, so tries start
    # early in a second and the ground truth knows that second.
    timestamp = "arrival"

    def __init__(self, auth_token: str | None = None):
        self.auth_token = auth_token

    def _spec(self, code):
        return TWILIO.get(code, TWILIO["*"])

    def item(self, report):
        status, error = self._spec(report.planned.code)
        account = "AC" + hashlib.sha1(b"smsbounce di-sim").hexdigest()[:32]  # noqa: S324
        fields = [
            ("MessageSid", report.order_id),
            ("SmsSid", report.order_id),
            ("AccountSid", account),
            ("From", report.originator),
            ("To", report.recipient),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("ApiVersion", "2010-04-01"),
        ]
        if error:
            fields.append(("ErrorCode", error))
        if status in ("delivered", "undelivered"):
            # Twilio adds the carrier's DLR time (to the minute) to these two; the buffer reads it.
            fields.append(("RawDlrDoneDate", yymmddhhmm(report.planned.event_time)))
        summary = f"MessageStatus={status}" + (f" ErrorCode={error}" if error else "")
        return Item(tuple(fields), summary)

    def stored(self, report):
        status, error = self._spec(report.planned.code)
        kind = outcome_kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Temporary" if error in TWILIO_TEMPORARY else "Permanent"
        # Bounces are undelivered/failed; only undelivered carries RawDlrDoneDate, else arrival.
        event_time = report.planned.event_time if status in ("delivered", "undelivered") else None
        text = buffer_text(None, status, error)
        resolution = 60 if event_time else 1
        return Stored(kind, error, text, report.recipient, event_time, resolution=resolution)

    def request(self, address, items):
        (item,) = items
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.auth_token:
            headers["X-Twilio-Signature"] = twilio_signature(self.auth_token, address, item.fields)
        return Request("POST", address, urlencode(item.fields).encode(), headers)
