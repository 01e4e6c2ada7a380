"""Read-side checks: what any status endpoint must do, judged from what was observed.

Each check owns its own rules, so one fault fails one check: ``schema`` judges the shape
(keys, JSON types), ``page-echo`` the ``page`` value, ``last-page`` and ``past-end`` the
``lastPage`` flag, ``page-size`` how many items pages hold, ``same-pages`` a window read twice,
``item-fields`` the values inside items. The paging rules are Marketing's
(``simulators.marketing.checks``), worded here as verdicts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator

from smsbounce import contracts
from smsbounce.contracts.wire import length_bounds, parse_utc
from smsbounce.simulators.marketing import checks

from .verdict import Verdict, judge, skipped
from .walk import JSON_MEDIA_TYPE, Walk, document, media_type, sizes
from .wire import Exchange

# From contracts/status-response (the article's column sizes, docs/spec.md §2.2, except
# messageId: 64 so that provider ids such as Twilio's 34-character SIDs fit).
FIELD_LENGTHS = {
    **{
        name: length_bounds(name) for name in ("messageId", "recipient", "statusCode", "statusText")
    },
    "timestamp": (14, 14),
}
TYPES = ("Temporary", "Permanent")
# Value rules inside items belong to item-fields; page and lastPage to their own checks.
_VALUE_KEYWORDS = {"maxLength", "minLength", "enum", "pattern"}
# docs/spec.md §2.1: "pages hold about 100 entries". Larger pages are reported, not failed.
ARTICLE_PAGE = 100
# CPI fails the exchange with HTTP 500 for any non-2xx answer of its target (docs/spec.md §2.4) and
# names the target's status in the text; a 4xx relayed that way is the target rejecting input.
_RELAYED_4XX = re.compile(r"statusCode: 4[0-9][0-9]\b")


@dataclass
class ReadSide:
    """Everything the read-side checks judge. ``unauthenticated`` is None without credentials;
    ``rereads`` pairs two reads of one settled window, the earlier first."""

    walks: list[Walk]
    bad_parameters: list[Exchange] = field(default_factory=list)
    unauthenticated: list[Exchange] | None = None
    max_latency: float = 5.0
    rereads: list[tuple[Walk, Walk]] = field(default_factory=list)

    def pages(self):
        """``(walk, page number, exchange)`` for every page request."""
        for walk in self.walks:
            for number, exchange in enumerate(walk.pages):
                yield walk, number, exchange


def _where(walk: Walk, number: int) -> str:
    return f"page={number} of {walk.name}"


def answers_200(side: ReadSide) -> Verdict:
    """Every well-formed page request is answered 200."""
    problems, count = [], 0
    for walk, number, exchange in side.pages():
        count += 1
        if exchange.status != 200:
            problems.append(f"{_where(walk, number)} → {exchange.answer}: {exchange.excerpt}")
    return judge("answers-200", problems, f"{count} page requests answered HTTP 200")


def content_type(side: ReadSide) -> Verdict:
    """Marketing reads the answer as JSON: the media type must say so."""
    problems, count = [], 0
    for walk, number, exchange in side.pages():
        if exchange.status == 200:
            count += 1
            if media_type(exchange.content_type) != JSON_MEDIA_TYPE:
                shown = exchange.content_type or "no Content-Type"
                problems.append(f"{_where(walk, number)} → {shown!r}, not {JSON_MEDIA_TYPE}")
    return judge("content-type", problems, f"{count} pages are {JSON_MEDIA_TYPE}")


def _shape_problems(body) -> list[str]:
    validator = Draft202012Validator(contracts.schema("status-response"))
    found = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if path and path[0] in ("page", "lastPage"):
            continue
        if len(path) == 3 and path[0] == "status" and error.validator in _VALUE_KEYWORDS:
            continue
        found.append(f"{error.json_path}: {error.message}")
    return found


def schema(side: ReadSide) -> Verdict:
    """The body has the shape of contracts/status-response: its keys and JSON types."""
    problems, count = [], 0
    for walk, number, exchange in side.pages():
        if exchange.status != 200:
            continue
        count += 1
        if exchange.json_problem:
            problems.append(f"{_where(walk, number)}: {exchange.json_problem}")
            continue
        for problem in _shape_problems(exchange.document)[:2]:
            problems.append(f"{_where(walk, number)}: {problem}")
    return judge("schema", problems, f"{count} pages match contracts/status-response")


def page_echo(side: ReadSide) -> Verdict:
    """``page`` is the requested page number, echoed as a string."""
    problems, count = [], 0
    for walk, number, exchange in side.pages():
        body = document(exchange)
        if body is None:
            continue
        count += 1
        if checks.echo_wrong(number, body):
            echoed, expected = body["page"], str(number)
            problems.append(f"{_where(walk, number)} → page {echoed!r}, expected {expected!r}")
    return judge("page-echo", problems, f"{count} pages echo page as the requested string")


def _flags(walk: Walk) -> list[checks.Flag]:
    return checks.flags([document(exchange) for exchange in walk.pages])


def last_page(side: ReadSide) -> Verdict:
    """``lastPage`` is a boolean, true exactly on the last page with items and on an empty
    window; the walk read one page further, so a premature ``true`` shows."""
    problems, judged = [], 0
    for walk in side.walks:
        for flag in _flags(walk):
            where = _where(walk, flag.page)
            if not isinstance(flag.said, bool):
                problems.append(f"{where} → lastPage {json.dumps(flag.said)} is not a boolean")
            elif flag.held and flag.following is not None:
                judged += 1
                if not flag.right:
                    problems.append(
                        f"{where} → lastPage {str(flag.said).lower()}"
                        f" but page {flag.page + 1} has {flag.following} items"
                    )
            elif not flag.held and flag.page == 0:
                judged += 1
                if not flag.right:
                    problems.append(f"{where} is empty but lastPage is false")
    return judge("last-page", problems, f"lastPage right on {judged} pages")


def past_end(side: ReadSide) -> Verdict:
    """A page past the end of a window is empty with ``lastPage`` true."""
    problems, judged = [], 0
    for walk in side.walks:
        for flag in _flags(walk):
            if flag.page == 0 or flag.held:
                continue
            judged += 1
            if not flag.right:
                problems.append(
                    f"{_where(walk, flag.page)} (past the end) → lastPage {json.dumps(flag.said)}"
                )
    if not judged:
        return skipped("past-end", "no window was read past its end")
    return judge("past-end", problems, f"{judged} pages past the end are empty, lastPage true")


def no_repeats(side: ReadSide) -> Verdict:
    """No messageId appears twice among the pages of one window (stable paging)."""
    problems, total = [], 0
    for walk in side.walks:
        seen = checks.occurrences([document(exchange) for exchange in walk.pages])
        total += len(seen)
        for message_id, numbers in seen.items():
            if len(numbers) > 1:
                shown = ", ".join(map(str, numbers))
                problems.append(f"messageId {message_id!r} on pages {shown} of {walk.name}")
    return judge("no-repeats", problems, f"{total} items, none repeated within a window")


def _documents(walk: Walk) -> list:
    return [document(exchange) for exchange in walk.pages]


def page_size(side: ReadSide) -> Verdict:
    """Within a window the page size is steady: every page but the last holds as many entries
    as page 0, the last no more. Pages over the article's "about 100" are named in the
    evidence, not failed."""
    problems, paged, full = [], [], set()
    for walk in side.walks:
        counts = sizes(walk)
        if len(counts) < 2:
            continue
        # A capped walk did not reach its last page: every page read must be full.
        judged = [*counts, 0] if walk.capped else counts
        paged.append(len(counts))
        full.add(counts[0])
        for number in checks.unsteady(judged):
            where = _where(walk, number)
            if number == len(judged) - 1:
                problems.append(
                    f"{where} (the last) holds {counts[number]} entries, more than page 0's "
                    f"{counts[0]}"
                )
            else:
                problems.append(
                    f"{where} holds {counts[number]} entries, page 0 {counts[0]}: only the last "
                    "page may be shorter"
                )
    if not paged:
        return skipped("page-size", "no window read had more than one page")
    shown = "/".join(str(size) for size in sorted(full))
    spread = f"{min(paged)}–{max(paged)}" if min(paged) < max(paged) else f"{min(paged)}"
    proof = f"steady pages of {shown} entries in {len(paged)} windows read ({spread} pages)"
    over = sorted(size for size in full if size > ARTICLE_PAGE)
    note = ""
    if over:
        note = (
            f"; pages of {'/'.join(map(str, over))} entries hold more than the article's "
            f'"about {ARTICLE_PAGE}" (docs/spec.md §2.1): SAP does not say Marketing takes them'
        )
    verdict = judge("page-size", problems, proof + note)
    if verdict.failed and note:
        return Verdict(verdict.check, verdict.verdict, verdict.evidence + note)
    return verdict


def same_pages(side: ReadSide) -> Verdict:
    """A settled window read twice, page 0, 1, … in Marketing's order each time, serves the
    same pages: the same items in the same order on the same page numbers, and the same
    ``lastPage``. When Marketing reads a window again (after a failed page, say), pages that
    moved lose or repeat bounces."""
    if not side.rereads:
        return skipped("same-pages", "no window was read twice")
    problems, shown = [], []
    for first, second in side.rereads:
        a, b = _documents(first), _documents(second)
        number = checks.first_difference(a, b)
        shown.append(str(len(sizes(first))))
        if number is None:
            continue
        problems.append(f"{first.name} read twice: {_difference(a, b, number)}")
    proof = (
        f"{len(side.rereads)} settled windows, each read twice, served the same pages both "
        f"times ({' and '.join(shown)} pages)"
    )
    return judge("same-pages", problems, proof)


def _difference(first: list, second: list, number: int) -> str:
    if number >= len(first) or number >= len(second):
        return f"{_count_pages(first)} pages, then {_count_pages(second)}"

    def shown(page) -> str:
        found = checks.items(page)
        head = repr(str(found[0].get("messageId"))) if found else "nothing"
        flag = json.dumps(page.get("lastPage") if isinstance(page, dict) else None)
        return f"{len(found)} entries from {head}, lastPage {flag}"

    return f"page {number} held {shown(first[number])}, then {shown(second[number])}"


def _count_pages(pages: list) -> int:
    return sum(1 for page in pages if checks.items(page)) or 1


def field_problems(item: dict) -> list[str]:
    """What breaks the article's rules in one item's values (strings only: types are schema's)."""
    found = []
    for name, (low, high) in FIELD_LENGTHS.items():
        value = item.get(name)
        if isinstance(value, str) and not low <= len(value) <= high:
            found.append(f"{name} has {len(value)} characters (allowed {low}–{high})")
    kind = item.get("type")
    if isinstance(kind, str) and kind not in TYPES:
        found.append(f"type {kind!r} is neither Temporary nor Permanent")
    stamp = item.get("timestamp")
    if isinstance(stamp, str) and len(stamp) == 14 and not _valid_timestamp(stamp):
        found.append(f"timestamp {stamp!r} is not a real time YYYYMMDDhhmmss")
    return found


def _valid_timestamp(text: str) -> bool:
    if not text.isascii() or not text.isdigit():
        return False
    try:
        parse_utc(text)
    except ValueError:
        return False
    return True


def item_fields(side: ReadSide) -> Verdict:
    """Every item's values fit the article's lengths, ``type`` and ``timestamp`` rules."""
    problems, count = [], 0
    for walk in side.walks:
        for number, item in walk.bounces():
            count += 1
            for problem in field_problems(item):
                message_id = str(item.get("messageId"))[:40]
                problems.append(f"{message_id!r} ({_where(walk, number)}): {problem}")
    return judge("item-fields", problems, f"{count} items within the article's field rules")


def _rejection(exchange: Exchange) -> str | None:
    """How the request was rejected (``400``, ``500 relaying 400``), None if it was not."""
    if exchange.status is not None and 400 <= exchange.status < 500:
        return str(exchange.status)
    body = exchange.document
    error = body.get("error") if isinstance(body, dict) else None
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    relayed = _RELAYED_4XX.search(message) if exchange.status == 500 else None
    return f"500 relaying {relayed.group(0)[-3:]}" if relayed else None


def bad_parameters(side: ReadSide) -> Verdict:
    """Missing or invalid parameters are answered 4xx (a client error), never 5xx or 2xx.
    A CPI failed exchange (500) naming the target's 4xx counts as the target's rejection."""
    if not side.bad_parameters:
        return skipped("bad-parameters", "no invalid request was sent")
    problems = [
        f"{exchange.label} → {exchange.answer}, expected 4xx"
        for exchange in side.bad_parameters
        if _rejection(exchange) is None
    ]
    statuses = sorted({str(_rejection(e)) for e in side.bad_parameters})
    proof = f"{len(side.bad_parameters)} invalid requests rejected ({', '.join(statuses)})"
    return judge("bad-parameters", problems, proof)


def auth_required(side: ReadSide) -> Verdict:
    """Without valid credentials the endpoint answers 401 and serves nothing."""
    if side.unauthenticated is None:
        return skipped("auth-required", "no --user given: the endpoint is read without credentials")
    problems = [
        f"{exchange.label} → {exchange.answer}, expected HTTP 401"
        for exchange in side.unauthenticated
        if exchange.status != 401
    ]
    proof = f"{len(side.unauthenticated)} requests without valid credentials answered 401"
    return judge("auth-required", problems, proof)


def latency(side: ReadSide) -> Verdict:
    """Every page answers within ``max_latency`` seconds (Marketing polls while campaigns run)."""
    timed = [(e.seconds, w, n) for w, n, e in side.pages() if e.status is not None]
    if not timed:
        return skipped("latency", "no page was answered")
    problems = [
        f"{_where(walk, number)} took {seconds:.2f} s (limit {side.max_latency:g} s)"
        for seconds, walk, number in timed
        if seconds > side.max_latency
    ]
    slowest = max(timed, key=lambda t: t[0])[0]
    proof = f"slowest of {len(timed)} pages {slowest:.2f} s (limit {side.max_latency:g} s)"
    return judge("latency", problems, proof)


CHECKS = (
    answers_200,
    content_type,
    schema,
    page_echo,
    last_page,
    past_end,
    no_repeats,
    page_size,
    same_pages,
    item_fields,
    bad_parameters,
    auth_required,
    latency,
)
