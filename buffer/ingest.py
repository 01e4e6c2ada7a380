"""The ingest pipeline, once: request → profile (pure) → reports → store → the provider's answer.

``Ingest.take`` never raises for what a request did: it returns a ``Taken`` saying what the
request carried, what became of each report, and the answer or the error to send. Metrics are
counted from that record, not wrapped around the work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hmac import compare_digest

from bottle import request, response

from . import raw_requests
from .errors import (
    BadSignature,
    BodyTooLarge,
    HttpError,
    InvalidParameter,
    UnknownToken,
    UnreadableBody,
    UnsupportedMediaType,
)
from .logs import REDACTED
from .providers import Incoming, Profile, Quarantined, Rejected
from .reports import Report, Result
from .request_params import (
    MAX_BODY_BYTES,
    MAX_FORM_FIELDS,
    parse_json,
    parse_pairs,
    parse_query,
    to_params,
)
from .settings import Settings
from .store import Store


@dataclass
class Taken:
    """One ingest request: its reports as parsed (``Report``, ``Rejected`` or ``Quarantined``), a
    ``Result`` per report (None for a rejected one), and either the answer or the error to send."""

    provider: str
    items: list = field(default_factory=list)
    results: list[Result | None] = field(default_factory=list)
    answer: object = None
    error: HttpError | None = None


class Ingest:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store

    def take(self, profile: Profile, token: str | None) -> Taken:
        """Check the capability and the provider's signature, map, store, answer.

        The error is a 400 naming the bad field, 403 for a bad signature, 404 for a missing or
        wrong token, 413/414/415 for a request too large or of the wrong kind, 503 when nothing
        could be stored.
        """
        taken = Taken(profile.name)
        try:
            incoming = read_incoming(self.settings, profile.free_text)
            if self.settings.ingest_tokens or token is not None:
                _require_token(self.settings.ingest_tokens, token or incoming.token)
            problem = profile.authenticate(incoming)
            if problem:
                raise BadSignature(problem)
            taken.items = profile.parse(incoming)
            taken.answer = self._store(profile, taken, incoming)
        except HttpError as exc:
            taken.error = exc
        return taken

    def _store(self, profile: Profile, taken: Taken, incoming: Incoming):
        """Store the bounces of one request, and its quarantined ones, in one transaction;
        answer per report. Each keeps the raw request it came in (``raw_requests``).

        A single-report request that was rejected is a 400 naming the field; a batch answers 200
        with a result per report unless none could be taken. A quarantined bounce is answered
        as taken, the way its provider expects (docs/spec.md §4).
        """
        parsed = taken.items
        rejected = [item for item in parsed if isinstance(item, Rejected)]
        if rejected and (not profile.batch or len(rejected) == len(parsed)):
            # Refused before the database is touched: bad input is a 400 even during an outage.
            first = rejected[0]
            prefix = "" if not profile.batch else "no report could be taken: "
            raise InvalidParameter(first.parameter, prefix + str(first))
        bounces = [r for r in parsed if isinstance(r, Report) and r.is_bounce]
        held = [q for q in parsed if isinstance(q, Quarantined)]
        stored = iter(
            self.store.save_all(
                [(r, self._record(incoming, r.raw)) for r in bounces],
                provider=profile.name,
                quarantined=[(q, self._record(incoming, q.raw)) for q in held],
            )
        )
        answers = []
        for item in parsed:
            if isinstance(item, Rejected):
                taken.results.append(None)
                answers.append({"error": _error(item)})
            elif isinstance(item, Quarantined):
                taken.results.append(Result.QUARANTINED)
                answers.append({"result": Result.QUARANTINED.answer, "messageId": item.message_id})
            else:
                result = next(stored) if item.is_bounce else Result.ACKNOWLEDGED
                taken.results.append(result)
                answers.append({"result": result.answer, "messageId": item.message_id})
        if profile.answer.body is not None:
            response.status = profile.answer.status
            response.content_type = profile.answer.content_type
            return profile.answer.body
        return {"results": answers} if profile.batch else answers[0]

    def _record(self, incoming: Incoming, report: str | None) -> str:
        """The raw record kept with one report (``raw_requests``), every configured token cut
        from it wherever it came (a path, query or form token never reaches it; one echoed
        inside a JSON report, e.g. in callback data, would)."""
        raw = raw_requests.record(incoming, report)
        for token in self.settings.ingest_tokens:
            raw = raw.replace(token, REDACTED)
        return raw


def read_incoming(settings: Settings, free_text: frozenset[str] = frozenset()) -> Incoming:
    """The request as a profile sees it; bounded like the query (docs/spec.md §5). Values of
    ``free_text`` parameters may hold bytes outside UTF-8 (``request_params.parse_pairs``).
    Its URL and headers are read from this thread's request when a profile first asks."""
    query_string = request.environ.get("QUERY_STRING", "")
    query = parse_query(query_string, free_text)
    token = query.pop("token", None)  # a capability: never stored or logged
    form, raw_form, body, raw = {}, (), None, b""
    kind = ""
    if request.method == "POST":
        raw = _body()
        kind = (request.content_type or "").split(";")[0].strip().lower()
        if kind == "application/json":
            body = parse_json(raw)
        elif kind in ("application/x-www-form-urlencoded", ""):
            raw_form = tuple(parse_pairs(raw, MAX_FORM_FIELDS, "form body", free_text))
            form = to_params(list(raw_form))
            # A token form field is the capability too (the query's wins), and as little
            # stored; raw_form keeps it, as a provider's signature covers every field.
            form_token = form.pop("token", None)
            token = token if token is not None else form_token
        else:
            raise UnsupportedMediaType(f"unsupported content type {kind!r}; send form or JSON")
    return Incoming(
        method=request.method,
        url=lambda: _url(settings, query_string),
        query=query,
        token=token,
        form=form,
        json=body,
        headers=lambda: {name.lower(): value for name, value in request.headers.items()},
        raw_form=raw_form,
        raw_query=lambda: raw_requests.without_token(query_string),  # for a kept record only
        raw_body=raw,
        content_type=kind,
    )


def _url(settings: Settings, query_string: str) -> str:
    """The URL the provider called (what Twilio signs): the public one behind a proxy."""
    if settings.public_url:
        return settings.public_url + request.path + ("?" + query_string if query_string else "")
    return request.url


def _body() -> bytes:
    """The request body, refused with 413 beyond the limit before it is read into memory.

    Read straight from the server rather than through Bottle, which spools large bodies to
    temporary files.
    """
    length = _content_length(request.environ.get("CONTENT_LENGTH") or "")
    if length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    stream = request.environ["wsgi.input"]
    try:
        raw = stream.read(length) if length >= 0 else stream.read(MAX_BODY_BYTES + 1)
    except Exception:
        # Whatever the server raises while it decodes the body (gunicorn: InvalidChunkSize,
        # ChunkMissingTerminator, NoMoreData) is the sender's broken request, not our error.
        raise UnreadableBody(
            "the body could not be read: its chunked framing is broken or it was cut off"
        ) from None
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    return raw


def _content_length(text: str) -> int:
    """The ``Content-Length`` in bytes; -1 when absent (a chunked body)."""
    if not text:
        return -1
    if not (text.isascii() and text.isdigit()):
        raise InvalidParameter("Content-Length", "Content-Length must be a whole number of bytes")
    return int(text)


def _error(rejected: Rejected) -> dict:
    error = {"status": 400, "message": str(rejected)}
    if rejected.parameter:
        error["parameter"] = rejected.parameter
    return error


def _require_token(tokens: tuple[str, ...], given: str | None) -> None:
    # Compare against every token so the time taken does not tell which one nearly matched.
    given_bytes = (given or "").encode()
    matches = [compare_digest(given_bytes, token.encode()) for token in tokens]
    if given is None or not any(matches):
        raise UnknownToken()
