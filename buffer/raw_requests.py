"""The raw record kept with every stored or quarantined report, and the request it stands for.

The record is the request as received — method, query string and body byte for byte (the
capability token taken out; a batch keeps only the report's own JSON) — so ``smsbounce replay``
can map it again through a corrected profile. Records of releases before this one hold only the
report's fields as JSON; they are read as such, but a GET report's fields were in its URL and
are not in them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from .providers import Incoming, Profile
from .request_params import parse_pairs, parse_query, to_params

VERSION = 2


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
        if not incoming.content_type.startswith("application/json"):
            body = without_token(body)  # a form's token field is the capability too
        document["body"] = body
    # ASCII JSON: a lone surrogate in a report's JSON stays an escape no database refuses.
    return json.dumps(document)


def incoming_from(raw: str | None, profile: Profile) -> Incoming:
    """The request a record stands for, as ``profile`` reads it (no signature is checked
    again: the report was authenticated when it arrived)."""
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
    free_text = profile.free_text
    query = parse_query(document.get("query", ""), free_text)
    form: dict[str, str] = {}
    body = None
    raw_form: tuple = ()
    if "report" in document:
        body = _batch_of(document["report"], profile)
    elif "body" in document:
        data = document["body"].encode("latin-1")
        if document.get("contentType", "").startswith("application/json"):
            body = json.loads(data.decode("utf-8"))
        else:
            raw_form = tuple(parse_pairs(data, 10_000, "form body", free_text))
            form = to_params(list(raw_form))
    return Incoming(
        method=document.get("method", "GET"),
        url="",
        query=query,
        form=form,
        json=body,
        raw_form=raw_form,
        raw_query=document.get("query", ""),
        raw_body=document.get("body", "").encode("latin-1"),
        content_type=document.get("contentType", ""),
    )


def _legacy(fields: Mapping, profile: Profile) -> Incoming:
    """A record of an earlier release: the report's fields (form/query) or JSON object."""
    values = {str(k).lower(): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    body = _batch_of(dict(fields), profile) if profile.batch else dict(fields)
    return Incoming(method="GET", url="", query=values, form=values, json=body)


def _batch_of(report: Any, profile: Profile) -> Any:
    """A batch holding just ``report``, at the profile's pointer (e.g. ``{"results": [...]}``)."""
    pointer = getattr(profile, "reports_pointer", None)
    if not profile.batch or pointer is None:
        return report
    document: Any = [report]
    for token in reversed([t for t in pointer.lstrip("/").split("/") if t]):
        document = {token.replace("~1", "/").replace("~0", "~"): document}
    return document
