"""SAP Digital Interconnect's send format, pure: the INI-like body we write and the answer we read.

No I/O here, so the exact bytes on the wire are tested without HTTP (docs/spec.md §2.3).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from smsbounce.contracts.wire import MESSAGE_ID_MAX

# Every line break Python's str.splitlines() knows: any of them would end the Text= line early.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# Matched line by line after every HTML tag became a line break.
_ORDER_ID = re.compile(r"^\s*ORDERID\s*=\s*(\S*)\s*$", re.MULTILINE | re.IGNORECASE)
_ERROR = re.compile(r"^\s*ERROR\s*=\s*([0-9A-Fa-f]{4})\s*$", re.MULTILINE | re.IGNORECASE)
_ERROR_TEXT = re.compile(r"^\s*ERRORTEXT\s*=\s*(.*?)\s*$", re.MULTILINE | re.IGNORECASE)
# An answer that is only "600F Authentication failed" or an HTML page around it.
_BARE_CODE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Fa-f]{4})(?![0-9A-Za-z])")
_TAG = re.compile(r"<[^>]*>")
_PRINTABLE_ASCII = re.compile(r"[!-~]+")
# The ORDERID is the bounce's messageId (docs/cpi-proxy.md): the same limit.
ORDER_ID_MAX = MESSAGE_ID_MAX

# DI's published error codes (docs/spec.md §2.3), used when an answer carries a code but no text.
ERROR_TEXTS = {
    "600F": "Authentication failed",
    "6017": "Message text missing",
    "6018": "Recipient list missing",
    "6019": "Recipient list invalid",
    "8000": "Service temporarily unavailable",
}


@dataclass(frozen=True)
class Order:
    """One DI order. The proxy sends one recipient per order (see ``docs/cpi-proxy.md``)."""

    subject: str
    recipient: str
    text: str
    sender: str
    ack_reply_address: str


@dataclass(frozen=True)
class OrderAccepted:
    order_id: str


@dataclass(frozen=True)
class OrderRejected:
    code: str
    text: str


class UnexpectedAnswer(ValueError):
    """DI's answer carries neither a usable ORDERID nor an error code."""


def encode_text(text: str) -> str:
    r"""The message text as one INI value: ``\`` becomes ``\\``, each line break ``\n``.

    DI's body is line-based, so a raw line break would end the value (and could smuggle in a
    ``[SETUP]`` line). Escaping the backslash first keeps the encoding reversible.
    """
    return _LINE_BREAK.sub(r"\\n", text.replace("\\", "\\\\"))


def write_body(order: Order) -> str:
    """The send body of docs/spec.md §2.3, lines ending in CRLF (INI files are a Windows format)."""
    lines = [
        "Version=2.0",
        f"Subject={order.subject}",
        "[MSISDN]",
        f"List={order.recipient}",
        "[MESSAGE]",
        f"Text={encode_text(order.text)}",
        "[SETUP]",
        f"OriginatingAddress={order.sender}",
        "AckType=Message",
        f"AckReplyAddress={order.ack_reply_address}",
        "MobileNotification=YES",
        "ValidityPeriod=2d",
        "[END]",
    ]
    return "\r\n".join(lines) + "\r\n"


def parse_answer(body: str) -> OrderAccepted | OrderRejected:
    """Read DI's answer: ``ORDERID=<id>``, or ``ERROR=<hex code>`` (+ ``ERRORTEXT=``), or a body
    that is just a hex code with words. Raises ``UnexpectedAnswer`` for anything else, and for an
    order id the buffer could not store (over 64 characters: its bounces would be lost).
    """
    lines = _TAG.sub("\n", body)
    found = _ORDER_ID.search(lines)
    if found:
        order_id = html.unescape(found.group(1))
        if not 0 < len(order_id) <= ORDER_ID_MAX or not _PRINTABLE_ASCII.fullmatch(order_id):
            raise UnexpectedAnswer(
                f"ORDERID {order_id[:40]!r} is not 1-{ORDER_ID_MAX} printable ASCII characters"
            )
        return OrderAccepted(order_id)
    found = _ERROR.search(lines)
    if found:
        code = found.group(1).upper()
        text = _ERROR_TEXT.search(lines)
        return OrderRejected(
            code, html.unescape(text.group(1)) if text else ERROR_TEXTS.get(code, "")
        )
    words = " ".join(html.unescape(lines).split())
    bare = _BARE_CODE.search(words)
    if bare and any(c.isdigit() for c in bare.group(1)):
        code = bare.group(1).upper()
        rest = (words[: bare.start()] + words[bare.end() :]).strip(" :-")
        return OrderRejected(code, rest or ERROR_TEXTS.get(code, ""))
    raise UnexpectedAnswer(f"neither ORDERID nor an error code in {words[:200]!r}")
