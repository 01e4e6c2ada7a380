"""Report formats: each provider's delivery-report callback, built from one planned report (pure).

The send API stays Digital Interconnect's; ``--profile NAME`` only changes how reports reach the
``AckReplyAddress``. A ``Format`` answers three questions about a planned report:

- ``item``: the report as the provider writes it (query/form pairs or a JSON object);
- ``request``: the HTTP request carrying one item — or several, for a provider that batches;
- ``stored``: what the buffer's profile of the same name will make of it (type, statusCode,
  statusText, recipient, timestamp) — the ground truth's side of the bargain.

The scenario speaks DI codes (``0x451A``, ``0xDBF3``, ``0x4503`` …); each format maps them onto its
provider's states and codes so that the buffer classifies them the same way (delivered,
intermediate, Temporary, Permanent). The one exception is Kannel, which has no transient failure:
a ``0xDBF3`` goes out as ``type=4`` (buffered), an intermediate report, and nothing is owed for it.

Built from the providers' public documentation and the buffer's declarative profile files; this
package never imports the buffer (the end-to-end tests prove both agree).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from .scenario import DELIVERED, INTERMEDIATE, PERMANENT, TEMPORARY, PlannedReport

UTC = timezone.utc
STATUS_TEXT_MAX = 250  # the buffer's limits (docs/spec.md §2.2)
STATUS_CODE_MAX = 10
JASMIN_ACK = "ACK/Jasmin"


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


def _join(address: str, query: str) -> str:
    if not query:
        return address
    joiner = "" if address.endswith(("?", "&")) else "&" if "?" in address else "?"
    return address + joiner + query


def _query(pairs, raw_plus: bool = False) -> str:
    safe = "+'" if raw_plus else ""
    return "&".join(f"{name}={quote(value, safe=safe)}" for name, value in pairs)


def _yymmddhhmm(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%y%m%d%H%M")


def _iso_ms(moment: datetime, z: str = "Z") -> str:
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


def _kind(code: str) -> str:
    if code == DELIVERED:
        return "delivered"
    if code in INTERMEDIATE:
        return "intermediate"
    return "temporary" if code == TEMPORARY else "permanent"


# -- Digital Interconnect ----------------------------------------------------------------------


def di_params(order_id, msisdn, status, event_time, zone) -> tuple[tuple[str, str], ...]:
    """DI's report parameters; ``date``/``time`` are the event time in ``zone``."""
    local = event_time.astimezone(zone)
    return (
        ("orderid", order_id),  # lower-case, as DI sends it
        ("time", local.strftime("%H%M%S")),
        ("date", local.strftime("%d%m%Y")),
        ("msisdn", msisdn),
        ("status", status),
    )


class DigitalInterconnect(Format):
    name = "di"
    title = "GET <AckReplyAddress>?orderid=…&time=HHMMSS&date=DDMMYYYY&msisdn=…&status=…"

    def item(self, report):
        planned = report.planned
        fields = di_params(
            report.order_id, report.recipient, planned.status, planned.event_time, report.zone
        )
        return Item(fields, planned.status, raw_plus=planned.raw_plus)

    def stored(self, report):
        planned = report.planned
        return Stored(
            planned.type, planned.code, planned.text, report.recipient, planned.event_time
        )

    def request(self, address, items):
        (item,) = items
        return Request("GET", _join(address, _query(item.fields, item.raw_plus)))


# -- Twilio ------------------------------------------------------------------------------------


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
            fields.append(("RawDlrDoneDate", _yymmddhhmm(report.planned.event_time)))
        summary = f"MessageStatus={status}" + (f" ErrorCode={error}" if error else "")
        return Item(tuple(fields), summary)

    def stored(self, report):
        status, error = self._spec(report.planned.code)
        kind = _kind(report.planned.code)
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


# -- Vonage ------------------------------------------------------------------------------------

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
            ("scts", _yymmddhhmm(moment)),
            ("err-code", error),
            ("api-key", "abcd1234"),
            ("message-timestamp", moment.strftime("%Y-%m-%d %H:%M:%S")),
        )
        return Item(fields, f"status={status} err-code={error}")

    def stored(self, report):
        status, error = self._spec(report.planned.code)
        kind = _kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Temporary" if error in VONAGE_TEMPORARY else "Permanent"
        return Stored(
            kind,
            error,
            buffer_text(None, status, error),
            report.recipient,
            report.planned.event_time,
            resolution=60,
        )

    def request(self, address, items):
        (item,) = items
        return Request("GET", _join(address, _query(item.fields)))


# -- Infobip -----------------------------------------------------------------------------------

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
            "sentAt": _iso_ms(report.accepted_at, "+0000"),
            "doneAt": _iso_ms(report.planned.event_time, "+0000"),
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
        kind = _kind(report.planned.code)
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


# -- Sinch -------------------------------------------------------------------------------------

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
            "at": _iso_ms(report.planned.event_time),
            "operator_status_at": _iso_ms(report.planned.event_time),
        }
        return Item(document, f"status={status} code={code}")

    def stored(self, report):
        status, code = self._spec(report.planned.code)
        kind = _kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Temporary" if status == "Expired" else "Permanent"
        text = buffer_text(None, status, str(code))
        return Stored(kind, str(code), text, report.recipient, report.planned.event_time)

    def request(self, address, items):
        (item,) = items
        body = json.dumps(item.fields).encode()
        return Request("POST", address, body, {"Content-Type": "application/json"})


# -- Kannel ------------------------------------------------------------------------------------

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
            f"submit date:{_yymmddhhmm(submitted)} done date:{_yymmddhhmm(done)} "
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
        return Request("GET", _join(address, query))


# -- Jasmin ------------------------------------------------------------------------------------

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
    title = "form POST id, message_status, donedate, err, text … to <dlr-url>?to=<recipient>"

    def _spec(self, code):
        return JASMIN.get(code, JASMIN["*"])

    def item(self, report):
        status, err = self._spec(report.planned.code)
        fields = (
            ("id", report.order_id),
            ("id_smsc", f"smsc-{report.order_id}-{report.position}"),
            ("message_status", status),
            ("level", "2"),
            ("subdate", _yymmddhhmm(report.accepted_at)),
            ("donedate", _yymmddhhmm(report.planned.event_time)),
            ("sub", "001"),
            ("dlvrd", "001" if status == "DELIVRD" else "000"),
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
        kind = _kind(report.planned.code)
        if kind in ("temporary", "permanent"):
            kind = "Temporary" if status == "EXPIRED" else "Permanent"
        # The buffer does not read Jasmin's `text` (the message's start): no content in reasons.
        text = buffer_text(None, status, err)
        return Stored(kind, err, text, report.recipient, report.planned.event_time, resolution=60)

    def request(self, address, items):
        (item,) = items
        url = _join(address, _query(item.query, item.raw_plus))
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return Request("POST", url, urlencode(item.fields).encode(), headers)

    def accepted(self, status, body):
        # Jasmin retries unless the body is exactly ACK/Jasmin.
        return 200 <= status < 300 and body.strip() == JASMIN_ACK


FORMATS = ("di", "twilio", "vonage", "infobip", "sinch", "kannel", "jasmin")


def make_format(name: str, *, twilio_auth_token: str | None = None) -> Format:
    """The format called ``name`` (one of ``FORMATS``)."""
    classes = {
        "di": DigitalInterconnect,
        "vonage": Vonage,
        "infobip": Infobip,
        "sinch": Sinch,
        "kannel": Kannel,
        "jasmin": Jasmin,
    }
    if name == "twilio":
        return Twilio(twilio_auth_token)
    if name not in classes:
        raise ValueError(f"unknown profile {name!r}; one of {', '.join(FORMATS)}")
    return classes[name]()
