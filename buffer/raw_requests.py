"""Requests as received (``RawRequest``, what every source hands the door, ``intake``), and the
raw record kept with every stored or quarantined report, from which its request is rebuilt.

The record is the request as received — method, query string and body byte for byte (the
capability token taken out; a batch keeps only the report's own JSON) — so ``smsbounce replay``
can map it again through a corrected profile. Records of releases before this one hold only the
report's fields as JSON; they are read as such, but a GET report's fields were in its URL and
are not in them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

from smsbounce.plumbing.jsontext import dumps

from .providers import Incoming, Profile

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

VERSION = 2


@dataclass(frozen=True)
class RawRequest:
    """A request as received. ``query_string`` is the WSGI one (the bytes read as latin-1);
    ``token`` a capability given in the path; ``url`` and ``headers`` may be functions, called
    only when a profile asks (a signature check)."""

    method: str
    query_string: str = ""
    content_type: str = ""
    body: bytes = b""
    token: str | None = None
    url: str | Callable[[], str] = ""
    headers: Mapping[str, str] | Callable[[], Mapping[str, str]] = field(default_factory=dict)


class UnreadableRecord(ValueError):
    """A stored record that cannot be turned back into a request."""


def without_token(query: str) -> str:
    """The raw query string minus any ``token`` parameter (a capability is never stored)."""
    kept = []
    for pair in query.split("&"):
        name = pair.partition("=")[0]
        if "%" in name or "+" in name:  # else unquote_plus would give it back as it is
            name = unquote_plus(name)
        if pair and name.lower() != "token":
            kept.append(pair)
    return "&".join(kept)


def record(incoming: Incoming, report: str | None = None) -> str:
    """The raw record of one report of ``incoming``; ``report`` is a batch report's own JSON."""
    document: dict[str, Any] = {
        "v": VERSION,
        "method": incoming.method,
        "query": incoming.raw_query,
    }
    if report is not None:
        document["report"] = json.loads(report)
    elif incoming.raw_body:
        document["contentType"] = incoming.content_type
        body = incoming.raw_body.decode("latin-1")  # bytes kept exactly
        if incoming.json is None:
            body = without_token(body)  # a form's token field is the capability too
        document["body"] = body
    # ASCII JSON: a lone surrogate in a report's JSON stays an escape no database refuses.
    return dumps(document)


def request_from(raw: str | None, profile: Profile) -> RawRequest:
    """The request a record stands for, to pass the door again (``intake``) as ``profile``'s.
    A batch report's record becomes a batch holding just that report."""
    if not raw:
        raise UnreadableRecord("no raw request was kept")
    try:
        document = json.loads(raw)
    except ValueError:
        raise UnreadableRecord("the raw record is not JSON") from None
    if not isinstance(document, Mapping):
        raise UnreadableRecord("the raw record is not a JSON object")
    if document.get("v") != VERSION:
        return _legacy(document, profile)
    method, query = document.get("method", "GET"), document.get("query", "")
    if "report" in document:
        return _json_request(method, query, _batch_of(document["report"], profile))
    return RawRequest(
        method=method,
        query_string=query,
        content_type=document.get("contentType", ""),
        body=document.get("body", "").encode("latin-1"),
    )


def _legacy(fields: Mapping, profile: Profile) -> RawRequest:
    """A record of an earlier release: the report's own fields. A JSON report comes back as
    its JSON body; a flat one as the query string it came in (GET) or its form (POST)."""
    if profile.batch or not all(isinstance(v, str) for v in fields.values()):
        return _json_request("POST", "", _batch_of(dict(fields), profile))
    encoded = urlencode(list(fields.items()))
    if "POST" in profile.methods:
        return RawRequest(method="POST", content_type=FORM, body=encoded.encode())
    return RawRequest(method="GET", query_string=encoded)


def _json_request(method: str, query: str, document: Any) -> RawRequest:
    body = json.dumps(document).encode()
    return RawRequest(method=method, query_string=query, content_type=JSON, body=body)


def _batch_of(report: Any, profile: Profile) -> Any:
    """A batch holding just ``report``, at the profile's pointer (e.g. ``{"results": [...]}``)."""
    pointer = getattr(profile, "reports_pointer", None)
    if not profile.batch or pointer is None:
        return report
    document: Any = [report]
    for token in reversed([t for t in pointer.lstrip("/").split("/") if t]):
        document = {token.replace("~1", "/").replace("~0", "~"): document}
    return document
