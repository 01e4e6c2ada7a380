"""The one door every report passes, whichever way it came.

A live request (``ingest``), a kept raw record (for ``smsbounce replay``) and a sample on the
command line (``smsbounce providers try``) each become a ``raw_requests.RawRequest``: method,
query string, content type and body as received. ``incoming`` turns it into the ``Incoming`` a
profile reads, with one set of limits (docs/spec.md §5); ``Intake.take`` checks the capability
and the signature, maps, stores and returns one ``verdicts.Taken``. So a sample is decided
exactly as the live server would decide it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from hmac import compare_digest

from . import raw_requests
from .errors import (
    BadSignature,
    HttpError,
    InvalidParameter,
    MethodNotAllowed,
    UnknownToken,
    UnmappedFull,
    UnsupportedMediaType,
)
from .keeping import ACKNOWLEDGED, UNBOUNDED, Bounds, KeptReport, Usage
from .logs import REDACTED
from .providers import Incoming, Profile, Quarantined, Rejected
from .raw_requests import FORM, JSON, RawRequest
from .reports import UNMAPPED, Report, Result, Unmappable
from .request_params import MAX_PARAMETERS, parse_json, parse_pairs, parse_query, to_params
from .verdicts import Taken, Verdict

log = logging.getLogger("smsbounce.buffer")

# (bounces with their raw records, provider, quarantined ones with theirs) -> a Result per bounce
Save = Callable[..., list[Result]]


def incoming(
    raw: RawRequest, free_text: frozenset[str] = frozenset(), json_body: bool = False
) -> Incoming:
    """The request as a profile sees it; 400, 414 or 415 naming what is wrong with it.

    A POST body is read as JSON or as a form by its content type (a form when it names none),
    or as JSON whatever that says with ``json_body`` (the profile's ``"body": "json"``).
    A ``token`` in the query or a form field is the capability (the query's wins), kept apart
    so it is never stored; ``raw_form`` keeps it, as a provider's signature covers every field.
    Values of ``free_text`` parameters may hold bytes outside UTF-8 (``parse_pairs``).
    """
    query = parse_query(raw.query_string, free_text)
    token = query.pop("token", None)
    form, raw_form, body, kind = {}, (), None, ""
    if raw.method == "POST":
        kind = raw.content_type.split(";")[0].strip().lower()
        if kind == JSON or json_body:
            body = parse_json(raw.body)
        elif kind in (FORM, ""):
            raw_form = tuple(parse_pairs(raw.body, MAX_PARAMETERS, "form body", free_text))
            form = to_params(list(raw_form))
            form_token = form.pop("token", None)
            token = token if token is not None else form_token
        else:
            raise UnsupportedMediaType(f"unsupported content type {kind!r}; send form or JSON")
    return Incoming(
        method=raw.method,
        url=raw.url,
        query=query,
        token=raw.token if raw.token is not None else token,
        form=form,
        json=body,
        headers=raw.headers,
        raw_form=raw_form,
        raw_query=lambda: raw_requests.without_token(raw.query_string),  # for a kept record
        raw_body=raw.body,
        content_type=kind,
    )


def preview(bounces, provider: str, quarantined=()) -> list[Result]:
    """A ``Save`` that writes nothing: every bounce would be stored."""
    return [Result.STORED] * len(bounces)


def nothing_kept() -> Mapping[str, Usage]:
    """The ``usage`` of a door that writes nothing."""
    return {}


class Intake:
    """Decides what becomes of every report of a request.

    ``tokens``: the ingest capabilities (none: ingest is open); ``save``: how bounces and
    quarantined reports are kept (``Store.save_all``, or ``preview``); ``check_signatures``:
    off for a kept record (checked when it arrived) and a sample (no provider signed it).
    ``usage`` tells what the bounded kinds of entry hold (``Quarantine.usage``), ``bounds``
    how much each may (``keeping``); until ``keep_all_until`` (by ``clock``) acknowledged
    reports are kept too.
    """

    def __init__(
        self,
        tokens: tuple[str, ...] = (),
        save: Save = preview,
        check_signatures: bool = True,
        *,
        usage: Callable[[], Mapping[str, Usage]] = nothing_kept,
        bounds: Bounds = UNBOUNDED,
        keep_all_until: datetime | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.tokens, self.save, self.check_signatures = tokens, save, check_signatures
        self.usage, self.bounds, self.clock = usage, bounds, clock
        self.keep_all_until = keep_all_until.timestamp() if keep_all_until else None
        self._said_full = False

    def take(self, profile: Profile, raw: RawRequest) -> Taken:
        """Never raises for what the request did. The error is a 400 naming the bad field, 403
        for a bad signature, 404 for a missing or wrong token, 405 for a method the provider
        does not use, 414/415 for a request of the wrong size or kind, 503 (from ``save``)
        when nothing could be stored.

        ``prepare`` then ``finish`` with what ``save`` made of the ``Pending``'s work: a caller
        that awaits its save (the event loop's intake) runs the same two halves itself."""
        pending = self.prepare(profile, raw)
        if pending.taken is not None:
            return pending.taken
        try:
            results = self.save(pending.bounces, provider=profile.name, quarantined=pending.held)
        except HttpError as exc:  # the database: nothing of this request stored
            return pending.finish(error=exc)
        return pending.finish(results)

    def prepare(self, profile: Profile, raw: RawRequest) -> Pending:
        """Everything ``take`` decides before the save: a ``Pending`` whose ``taken`` is already
        the answer (refused, a handshake, nothing to store), or whose ``bounces`` and ``held``
        are to be saved in one transaction, then told to ``Pending.finish``."""
        try:
            if raw.method not in profile.methods:
                raise MethodNotAllowed(profile.methods)
            request = incoming(raw, profile.free_text, profile.json_body)
            # Without configured tokens ingest is open; a token in the path must still match.
            if self.tokens or raw.token is not None:
                _require_token(self.tokens, request.token)
            problem = profile.authenticate(request) if self.check_signatures else None
            if problem:
                raise BadSignature(problem)
            answer = profile.handshake(request)
            if answer is not None:  # no report in it: nothing to store
                return Pending.done(Taken(profile.name, answer=answer))
            parsed = profile.parse(request)
        except HttpError as exc:
            return Pending.done(Taken.refused(profile.name, exc))
        return self._decide(profile, request, parsed)

    def _decide(self, profile: Profile, request: Incoming, parsed: list) -> Pending:
        """Store the bounces of one request, and its quarantined ones, in one transaction.

        A single-report request that was rejected is a 400 naming the field; a batch answers
        200 with a result per report unless none could be taken — refused before the database
        is touched, so bad input is a 400 even during an outage. A quarantined bounce is
        answered as taken, the way its provider expects (docs/spec.md §4); so is a report the
        profile cannot map (``Unmappable``) unless its contract says 400 (``keeps_unmapped``),
        and 503 with nothing stored when those kept are at their bound.
        """
        taken = Taken(profile.name)
        if profile.keeps_unmapped:
            parsed = [Quarantined.unmapped(i) if isinstance(i, Unmappable) else i for i in parsed]
        rejected = [item for item in parsed if isinstance(item, Rejected)]
        if rejected and (not profile.batch or len(rejected) == len(parsed)):
            first = rejected[0]
            prefix = "" if not profile.batch else "no report could be taken: "
            error = InvalidParameter(first.parameter, prefix + str(first))
            return Pending.done(_refuse(taken, parsed, error))
        bounces = [r for r in parsed if isinstance(r, Report) and r.is_bounce]
        held = [(q, self._record(request, q.raw)) for q in parsed if isinstance(q, Quarantined)]
        kept = [
            (KeptReport.of(r), self._record(request, r.raw))
            for r in parsed
            if self._keeping_all() and isinstance(r, Report) and not r.is_bounce
        ]
        try:
            kept = self._within_bounds(profile, held, kept)
        except HttpError as exc:  # the bound: nothing of this request stored
            return Pending.done(_refuse(taken, parsed, exc))
        records = [(r, self._record(request, r.raw)) for r in bounces]
        return Pending(profile, parsed, records, held + kept)

    def _keeping_all(self) -> bool:
        return self.keep_all_until is not None and self.clock() < self.keep_all_until

    def _within_bounds(self, profile: Profile, held: list, kept: list) -> list:
        """The acknowledged reports to keep (those that fit); UnmappedFull when an unmapped one
        does not fit. An acknowledged report beyond its bound is acknowledged all the same:
        keeping it is the operator's wish, not a promise to its provider."""
        unmapped = [record for entry, record in held if entry.type == UNMAPPED]
        if not unmapped and not kept:
            return kept  # no reading: the usual request never waits for it
        used = self.usage()
        problem = self.bounds.beyond(used.get(UNMAPPED, Usage()), unmapped)
        if problem:
            raise UnmappedFull(
                f"reports the {profile.name} profile cannot map are kept for replay, and they "
                f"are at their bound ({problem}); nothing was stored, retry later"
            )
        fitting = self.bounds.fitting(used.get(ACKNOWLEDGED, Usage()), [r for _, r in kept])
        if fitting < len(kept) and not self._said_full:
            log.warning(
                "acknowledged reports are no longer kept: those kept are at their bound "
                "(SMSBOUNCE_UNMAPPED_MAX_ENTRIES, SMSBOUNCE_UNMAPPED_MAX_BYTES)"
            )
        self._said_full = fitting < len(kept)
        return kept[:fitting]

    def _record(self, request: Incoming, report: str | None) -> str:
        """The raw record kept with one report (``raw_requests``), every configured token cut
        from it wherever it came (a path, query or form token never reaches it; one echoed
        inside a JSON report, e.g. in callback data, would)."""
        raw = raw_requests.record(request, report)
        for token in self.tokens:
            raw = raw.replace(token, REDACTED)
        return raw


class Pending:
    """A request decided up to its save (``Intake.prepare``): ``taken`` when nothing is left to
    save; else ``bounces`` ((report, raw record) pairs) and ``held`` (quarantined or kept
    entries with theirs) to store in one transaction, then ``finish``."""

    __slots__ = ("profile", "parsed", "bounces", "held", "taken")

    def __init__(self, profile, parsed: list, bounces: list, held: list, taken=None):
        self.profile, self.parsed, self.bounces, self.held = profile, parsed, bounces, held
        self.taken: Taken | None = taken

    @classmethod
    def done(cls, taken: Taken) -> Pending:
        return cls(None, [], [], [], taken)

    def finish(self, results: list[Result] | None = None, error: HttpError | None = None) -> Taken:
        """The request's ``Taken`` once its save returned ``results`` (STORED, DUPLICATE or STALE
        per bounce, in order) or failed with ``error`` (nothing of it stored)."""
        profile, parsed = self.profile, self.parsed
        taken = Taken(profile.name)
        if error is not None:
            return _refuse(taken, parsed, error)
        stored = iter(results)
        for item in parsed:
            if isinstance(item, Rejected):
                taken.verdicts.append(Verdict.rejected(item))
            elif isinstance(item, Quarantined):
                taken.verdicts.append(Verdict.of(item, Result.QUARANTINED))
            else:
                result = next(stored) if item.is_bounce else Result.ACKNOWLEDGED
                taken.verdicts.append(Verdict.of(item, result))
        answers = [verdict.answer() for verdict in taken.verdicts]
        taken.answer = {"results": answers} if profile.batch else answers[0]
        self.taken = taken
        return taken


def _refuse(taken: Taken, parsed: list, error: HttpError) -> Taken:
    """Every report of the request refused with ``error``; a rejected one for its own reason."""
    taken.error = error
    taken.verdicts = [
        Verdict.rejected(item if isinstance(item, Rejected) else error, item) for item in parsed
    ] or [Verdict.rejected(error)]
    return taken


def _require_token(tokens: tuple[str, ...], given: str | None) -> None:
    # Compare against every token so the time taken does not tell which one nearly matched.
    given_bytes = (given or "").encode()
    matches = [compare_digest(given_bytes, token.encode()) for token in tokens]
    if given is None or not any(matches):
        raise UnknownToken()
