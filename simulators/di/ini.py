"""Digital Interconnect's send format, pure: the INI-like request body and DI's small answers.

``parse_send`` turns a body (docs/spec.md §2.3) into a ``SendRequest`` or raises ``DIError``
carrying
DI's hex error code. ``order_answer`` / ``error_answer`` write the bodies the simulator returns;
``parse_answer`` reads them back (for clients and tests). No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

MAX_BODY_BYTES = 256 * 1024
MAX_RECIPIENTS = 1000
SECTIONS = ("MSISDN", "MESSAGE", "SETUP", "END")

# DI's published codes (docs/spec.md §2.3) plus 6010 for a body it cannot read [assumed]. The HTTP
# status next to each code is our decision: DI's is not published.
ERRORS: dict[str, tuple[int, str]] = {
    "600F": (401, "Authentication failed"),
    "6010": (400, "Invalid request"),
    "6017": (400, "Message text missing"),
    "6018": (400, "Recipient list missing"),
    "6019": (400, "Recipient list invalid"),
    "8000": (503, "Service temporarily unavailable"),
}

_RECIPIENT = re.compile(r"\+?[0-9]{3,15}")
_SECTION = re.compile(r"\[\s*([A-Za-z]+)\s*\]")
_ANSWER_LINE = re.compile(r"^\s*(ORDERID|ERROR|ERRORTEXT)=(.*?)\s*$", re.MULTILINE)


class DIError(ValueError):
    """DI refuses the request: ``code`` is the hex error code, the message says why."""

    def __init__(self, code: str, detail: str):
        self.code = code
        self.detail = detail
        super().__init__(f"{code} {ERRORS[code][1]}: {detail}")

    @property
    def http_status(self) -> int:
        return ERRORS[self.code][0]


@dataclass(frozen=True)
class SendRequest:
    """One order: the same text to every recipient, reports wanted when ``reply_address`` is set."""

    recipients: tuple[str, ...]
    text: str
    subject: str = ""
    originator: str = ""
    # None when the client asked for no reports (MobileNotification not YES or no address).
    reply_address: str | None = None
    validity: str = ""


def parse_send(body: bytes) -> SendRequest:
    """Parse and validate a send body. Raises DIError 6010 (unreadable), 6017, 6018 or 6019.

    Keys and section names are case-insensitive; values are kept verbatim (``Text`` may hold
    ``=``). Unknown sections, a key given twice, a line that is neither ``[SECTION]`` nor
    ``Key=Value`` and a body without ``[END]`` are 6010: a simulator that is stricter than the
    real provider catches client bugs early.
    """
    if len(body) > MAX_BODY_BYTES:
        raise DIError("6010", f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DIError("6010", f"body is not UTF-8 (byte {exc.start})") from None
    sections = _sections(text)

    recipients = _recipients(sections["MSISDN"].get("list"))
    message = sections["MESSAGE"].get("text")
    if message is None or not message.strip():
        raise DIError("6017", "[MESSAGE] Text is missing or empty")
    setup = sections["SETUP"]
    return SendRequest(
        recipients=recipients,
        text=message,
        subject=sections[""].get("subject", ""),
        originator=setup.get("originatingaddress", "").strip(),
        reply_address=_reply_address(setup),
        validity=setup.get("validityperiod", "").strip(),
    )


def order_answer(order_id: str) -> str:
    """DI's answer to an accepted order (HTTP 200)."""
    return f"<html><body>\nORDERID={order_id}\n</body></html>\n"


def error_answer(error: DIError) -> str:
    """DI's answer to a refused order: the hex code on its own line, then a readable text."""
    text = escape(f"{ERRORS[error.code][1]}: {error.detail}".replace("\n", " "))
    return f"<html><body>\nERROR={error.code}\nERRORTEXT={text}\n</body></html>\n"


def parse_answer(body: str) -> dict[str, str]:
    """``{"ORDERID": …}`` or ``{"ERROR": …, "ERRORTEXT": …}`` from an answer body."""
    return {key: value for key, value in _ANSWER_LINE.findall(body)}


def _sections(text: str) -> dict[str, dict[str, str]]:
    """``{"": header keys, "MSISDN": {...}, ...}`` with lower-cased keys; 6010 on bad structure."""
    sections: dict[str, dict[str, str]] = {name: {} for name in ("", *SECTIONS)}
    current = ""
    ended = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if ended:
            raise DIError("6010", f"line {number}: nothing may follow [END]")
        header = _SECTION.fullmatch(line.strip())
        if header:
            current = header.group(1).upper()
            if current not in SECTIONS:
                raise DIError("6010", f"line {number}: unknown section [{header.group(1)}]")
            ended = current == "END"
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise DIError("6010", f"line {number}: expected Key=Value or [SECTION]")
        if key.lower() in sections[current]:
            raise DIError("6010", f"line {number}: {key} is given twice")
        sections[current][key.lower()] = value
    if not ended:
        raise DIError("6010", "the body must end with [END]")
    return sections


def _recipients(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        raise DIError("6018", "[MSISDN] List is missing or empty")
    numbers = tuple(entry.strip() for entry in raw.split(","))
    for position, number in enumerate(numbers, start=1):
        if not _RECIPIENT.fullmatch(number):
            raise DIError(
                "6019", f"entry {position} ({number!r}) is not a phone number (+ and 3-15 digits)"
            )
    if len(numbers) > MAX_RECIPIENTS:
        raise DIError("6019", f"{len(numbers)} recipients; at most {MAX_RECIPIENTS} per order")
    if len(set(numbers)) != len(numbers):
        raise DIError("6019", "a recipient is listed twice (its reports could not be told apart)")
    return numbers


def _reply_address(setup: dict[str, str]) -> str | None:
    """The callback URL when reports are wanted; 6010 when it or AckType is unusable."""
    address = setup.get("ackreplyaddress", "").strip()
    if setup.get("mobilenotification", "").strip().upper() != "YES" or not address:
        return None
    ack_type = setup.get("acktype", "Message").strip()
    if ack_type.lower() != "message":
        raise DIError("6010", f"AckType {ack_type!r} is not supported; use Message")
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise DIError("6010", "AckReplyAddress must be an http(s) URL without a #fragment")
    return address
