"""Bounded, strict reading of a query string, and of Marketing's status request (docs/spec.md §5).

Providers and Marketing only send GET parameters, so this is the whole input surface: its
limits are checked before any value is looked at.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from .errors import InvalidParameter, QueryTooLong
from .reports import parse_utc

MAX_QUERY_LENGTH = 2048
# Parameters of a query string or form body, one limit for both wherever a report comes from:
# Plivo's documented GET callback alone carries up to 19; the query's length still bounds it.
MAX_PARAMETERS = 64
MAX_VALUE_LENGTH = 1000
MAX_BODY_BYTES = 256 * 1024
# The deepest nesting a JSON body may have. Providers' reports nest 4 levels (Infobip: body,
# results, report, status); unbounded nesting exhausts the parser's stack (a 500, not a 400).
MAX_JSON_DEPTH = 32
MAX_PAGE = 9_999_999
SOURCE_SYSTEM_MAX = 100
# What surrogateescape makes of a byte that is not UTF-8.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def parse_query(raw: str, free_text: frozenset[str] = frozenset()) -> dict[str, str]:
    """Decode a WSGI ``QUERY_STRING`` into ``{lower-cased name: value}``.

    Names are matched case-insensitively (DI sends ``orderid``, the article says ``orderID``), so
    a name given twice in any spelling is ambiguous and rejected. ``raw`` is the WSGI string,
    i.e. the request's bytes decoded as latin-1. ``free_text``: see ``parse_pairs``.
    """
    if len(raw) > MAX_QUERY_LENGTH:
        raise QueryTooLong(f"the query string is longer than {MAX_QUERY_LENGTH} characters")
    pairs = parse_pairs(raw.encode("latin-1"), MAX_PARAMETERS, "query string", free_text)
    return to_params(pairs)


def parse_pairs(
    raw: bytes, max_fields: int, what: str, free_text: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """URL-encoded bytes → (name, value) pairs as sent; UTF-8, bounded count.

    A value that is not UTF-8 is a 400 naming its parameter — except in ``free_text``
    (lower-case names): a gateway's free text echoes the SMS in whatever charset the link
    uses (Kannel's ``%A``), so there an undecodable byte becomes U+FFFD instead of costing the
    bounce (docs/spec.md §4, §5).
    """
    if raw.isascii():
        pairs = _ascii_pairs(raw.decode("ascii"), max_fields)
    else:
        pairs = _any_pairs(raw, max_fields)
    if pairs is None:
        raise InvalidParameter("", f"more than {max_fields} parameters in the {what}")
    # Only an escape can have left bytes that are not UTF-8 (as surrogates): ASCII pairs are kept.
    return [
        pair if (pair[0] + pair[1]).isascii() else _decoded(*pair, what, free_text)
        for pair in pairs
    ]


def _any_pairs(raw: bytes, max_fields: int) -> list[tuple[str, str]] | None:
    """``parse_qsl`` of bytes in any encoding (blank values kept, UTF-8, surrogateescape);
    None beyond ``max_fields`` parameters."""
    try:
        return parse_qsl(
            raw.decode("utf-8", "surrogateescape"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="surrogateescape",
            max_num_fields=max_fields,
        )
    except ValueError:
        return None


def _ascii_pairs(text: str, max_fields: int) -> list[tuple[str, str]] | None:
    """What ``_any_pairs`` (``parse_qsl``) makes of an ASCII query —
    there its ``unquote`` is ``unquote_to_bytes`` and one decode — in half its time, the
    report path's largest single cost (issue 22); None beyond ``max_fields`` parameters.
    tests/buffer/test_request_params.py holds the two equal on any input."""
    if text and text.count("&") + 1 > max_fields:
        return None
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name, value = _unquote_ascii(name), _unquote_ascii(value)
        pairs.append((name, value))
    return pairs


# The escapes reports are full of (spaces, the + of a number, a time's colons), replaced before
# the general decoding: an escape of an ASCII byte decodes to its character whatever surrounds
# it, and none of these characters is a % or a hex digit, so no other escape changes.
_COMMON_ESCAPES = (("%20", " "), ("%2B", "+"), ("%2b", "+"), ("%3A", ":"), ("%3a", ":"))


def _unquote_ascii(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" in text:
        for escape, character in _COMMON_ESCAPES:
            text = text.replace(escape, character)
        if "%" in text:
            text = unquote_to_bytes(text).decode("utf-8", "surrogateescape")
    return text


def _decoded(name: str, value: str, what: str, free_text: frozenset[str]) -> tuple[str, str]:
    if not _undecodable(name + value):
        return name, value
    if _undecodable(name):
        raise InvalidParameter("", f"a parameter name in the {what} is not valid UTF-8")
    if name.lower() in free_text:
        return name, value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    raise InvalidParameter(name, f"{name} is not valid UTF-8")


def _undecodable(text: str) -> bool:
    """Whether ``surrogateescape`` had to keep bytes that are not UTF-8."""
    # ASCII, the usual report, holds no surrogate: no need to look at every character.
    return not text.isascii() and _ESCAPED_BYTE.search(text) is not None


def parse_json(raw: bytes) -> Any:
    """A JSON body, strictly UTF-8, nested at most ``MAX_JSON_DEPTH`` deep; InvalidParameter
    otherwise (its size is bounded by the caller, ``MAX_BODY_BYTES``)."""
    too_deep = InvalidParameter("", f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        document = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise too_deep from None
    except ValueError:
        raise InvalidParameter("", "the body is not valid JSON") from None
    # Walked without recursion: json.dumps of the stored report would recurse as deep.
    pending = [(document, 1)] if isinstance(document, (dict, list)) else []
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise too_deep
        children = value.values() if isinstance(value, dict) else value
        pending.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return document


def to_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Pairs → ``{lower-cased name: value}``; a repeated name or an over-long value is a 400."""
    params: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in params:
            raise InvalidParameter(name, f"{name} is given more than once")
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidParameter(name, f"{name} is longer than {MAX_VALUE_LENGTH} characters")
        params[key] = value
    return params


@dataclass(frozen=True)
class StatusRequest:
    """Marketing's ``GET …/status`` parameters; ``window`` is None when no time frame was given."""

    page: int
    window: tuple[datetime, datetime] | None
    source_system: str | None


def parse_status_request(params: dict[str, str], max_window_days: int) -> StatusRequest:
    """Validate the ``status-request`` contract; InvalidParameter names the first bad one."""
    page_text = params.get("page", "0")
    if not page_text.isascii() or not page_text.isdigit() or page_text != str(int(page_text)):
        raise InvalidParameter("page", "page must be a whole number from 0, without leading zeros")
    page = int(page_text)
    if page > MAX_PAGE:
        raise InvalidParameter("page", f"page must be at most {MAX_PAGE}")

    start_text, end_text = params.get("starttimeutc"), params.get("endtimeutc")
    window = None
    if start_text is not None or end_text is not None:
        if start_text is None:
            raise InvalidParameter("startTimeUTC", "startTimeUTC is required with endTimeUTC")
        if end_text is None:
            raise InvalidParameter("endTimeUTC", "endTimeUTC is required with startTimeUTC")
        start = parse_utc(start_text, "startTimeUTC")
        end = parse_utc(end_text, "endTimeUTC")
        if end < start:
            raise InvalidParameter("endTimeUTC", "endTimeUTC must not be before startTimeUTC")
        if end - start > timedelta(days=max_window_days):
            raise InvalidParameter(
                "endTimeUTC", f"the time frame must not be longer than {max_window_days} days"
            )
        window = (start, end)

    source_system = params.get("sourcesystem")
    if source_system is not None and len(source_system) > SOURCE_SYSTEM_MAX:
        raise InvalidParameter(
            "sourceSystem", f"sourceSystem is longer than {SOURCE_SYSTEM_MAX} characters"
        )
    return StatusRequest(page=page, window=window, source_system=source_system)
