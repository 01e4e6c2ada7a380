"""Round-trip checks: the run's own reports went in through the ingest URL; did Marketing's
windows serve exactly what docs/spec.md §3–§4 say? Pure functions over what was sent and read.

A message whose report was not accepted is left to ``ingest-accepted`` and judged nowhere else;
served records are looked up by this run's prefix only, so other data never counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from smsbounce.simulators.marketing.report import counted

from .boundaries import PAGE, WINDOW, places
from .ingest import hint
from .plan import MAPPING, RANKING, SUCCESS, Expectation, Plan
from .verdict import Verdict, judge, skipped
from .walk import Walk
from .wire import Exchange

FIELDS = ("messageId", "recipient", "statusCode", "statusText", "type", "timestamp")
# Which report won: how each field was mapped is field-mapping's business, not this check's.
WINNER = ("statusCode", "type", "timestamp")


@dataclass
class RoundTrip:
    """``answers[i]`` answered ``plan.reports[i]`` (a batch's answer stands for each of its
    reports); ``refusals[i]`` says why that answer did not take the report (None: it did; the
    default is "not 2xx"); ``walks`` are contiguous windows in order; ``paging`` the reads of
    the one window around the whole run, in order (the first is judged page by page);
    ``elsewhere`` other reads that may hold the run's bounces (the last hour, at the end)."""

    plan: Plan
    answers: list[Exchange]
    walks: list[Walk]
    settle_lag: float = 0.0
    refusals: list[str | None] | None = None
    paging: list[Walk] = field(default_factory=list)
    elsewhere: list[Walk] = field(default_factory=list)

    def __post_init__(self):
        if self.refusals is None:
            self.refusals = [
                None if _ok(answer) else f"{answer.answer}: {answer.excerpt}"
                for answer in self.answers
            ]

    def accepted(self) -> set[str]:
        """Messages all of whose reports were taken."""
        refused = {
            report.message_id
            for report, why in zip(self.plan.reports, self.refusals, strict=True)
            if why is not None
        }
        return {report.message_id for report in self.plan.reports} - refused

    def served(self) -> dict[str, list[tuple[int, dict]]]:
        """This run's items per messageId, as ``(window index, item)`` in reading order."""
        found: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        for index, walk in enumerate(self.walks):
            for _, item in walk.bounces():
                message_id = item.get("messageId")
                if message_id in self.plan.expectations:
                    found[message_id].append((index, item))
        return found

    def served_anywhere(self) -> dict[str, dict]:
        """This run's items per messageId as first served in any read: the contiguous windows
        first, then the run's window and the others. What Marketing is served, whichever window
        it comes in, is judged by the content checks; where it comes is exactly-once's."""
        found: dict[str, dict] = {}
        for walk in [*self.walks, *self.paging, *self.elsewhere]:
            for _, item in walk.bounces():
                message_id = item.get("messageId")
                if message_id in self.plan.expectations:
                    found.setdefault(message_id, item)
        return found

    def burst(self) -> list[str]:
        """The burst's message ids in sending order."""
        return list(dict.fromkeys(r.message_id for r in self.plan.reports if r.key == "burst"))

    def bounces(self) -> list[Expectation]:
        """The accepted messages that must be served: every window check judges these."""
        return self.judged_by(MAPPING) + self.judged_by(RANKING)

    def lost_at_page_boundaries(self) -> dict[str, str]:
        """Bounces in none of the contiguous windows, lost between two pages of one: where."""
        served = self.served()
        missing = {e.message_id for e in self.bounces() if e.message_id not in served}
        return {
            message_id: f"between pages {place.pages[0]} and {place.pages[1]} of "
            f"{self.walks[place.window].name}"
            for message_id, place in places(self.walks, self.burst(), missing).items()
            if place.kind == PAGE
        }

    def judged_by(self, check: str) -> list[Expectation]:
        accepted = self.accepted()
        return [
            e
            for e in self.plan.expectations.values()
            if e.judge == check and e.message_id in accepted
        ]


def _ok(answer: Exchange) -> bool:
    return answer.status is not None and 200 <= answer.status < 300


def _label(expectation: Expectation) -> str:
    return f"{expectation.message_id} ({expectation.key})"


def _noted(trip: RoundTrip, verdict: Verdict) -> Verdict:
    """The verdict with what this provider's round trip could not send, if anything."""
    note = trip.plan.notes.get(verdict.check)
    if not note:
        return verdict
    return Verdict(verdict.check, verdict.verdict, f"{verdict.evidence} ({note})")


def ingest_accepted(trip: RoundTrip) -> Verdict:
    """Every well-formed report, the article's quirky one included, is answered the way its
    provider counts as taken: 2xx (Jasmin: with the body ``ACK/Jasmin``)."""
    problems = [
        f"{report.message_id} ({report.key}) → {why}"
        for report, why in zip(trip.plan.reports, trip.refusals, strict=True)
        if why is not None
    ]
    requests = len({id(answer) for answer in trip.answers})
    proof = f"{counted(len(trip.answers), 'report')} answered 2xx"
    if trip.plan.provider == "jasmin":
        proof = f"{counted(len(trip.answers), 'report')} answered 2xx ACK/Jasmin"
    if requests < len(trip.answers):
        proof += f" ({requests} requests)"
    verdict = _noted(trip, judge("ingest-accepted", problems, proof))
    advice = hint(trip.plan, trip.answers)
    if verdict.failed and advice:
        return Verdict(verdict.check, verdict.verdict, f"{verdict.evidence} — {advice}")
    return verdict


def _differences(item: dict, record: dict, fields=FIELDS) -> list[str]:
    return [
        f"{name} {item.get(name)!r}, expected {record[name]!r}"
        for name in fields
        if item.get(name) != record[name]
    ]


def _compare(
    trip: RoundTrip, check: str, fields=FIELDS, proof="{} served records match field by field"
) -> Verdict:
    served = trip.served_anywhere()
    taken = trip.judged_by(check)
    expectations = [e for e in taken if e.message_id in served]
    if not taken:
        return skipped(check, "none of its messages was taken (see ingest-accepted)")
    if not expectations:
        return skipped(check, "none of its messages was served (see exactly-once)")
    problems = []
    for expectation in expectations:
        item = served[expectation.message_id]
        differences = _differences(item, expectation.record, fields)
        if differences:
            problems.append(f"{_label(expectation)}: " + ", ".join(differences))
    return judge(check, problems, proof.format(len(expectations)))


def field_mapping(trip: RoundTrip) -> Verdict:
    """Each served bounce carries exactly the mapped fields (docs/spec.md §3): id, recipient with
    its ``+``, code and text split, quotes stripped, type from the code, event time as UTC."""
    return _noted(trip, _compare(trip, MAPPING))


def stronger_status_wins(trip: RoundTrip) -> Verdict:
    """For repeated reports of one message the served record is the strongest (Permanent >
    Temporary > success), ties by event time — whatever order the reports arrived in. It
    judges which report won (code, type, timestamp); how its fields were mapped is
    field-mapping's part."""
    proof = "{} repeatedly reported messages serve their strongest report"
    return _noted(trip, _compare(trip, RANKING, WINNER, proof))


def successes_not_served(trip: RoundTrip) -> Verdict:
    """Success reports (``0x451A``, or no error code; other providers' delivered and progress
    states) are acknowledged but never served."""
    served = trip.served_anywhere()
    expectations = [e for e in trip.plan.expectations.values() if e.judge == SUCCESS]
    problems = [
        f"{_label(e)} served as {served[e.message_id].get('type')!r}"
        for e in expectations
        if e.message_id in served
    ]
    what = "successes"
    if any(e.key == "progress" for e in expectations):
        what = "success and progress reports"
    return judge("successes-not-served", problems, f"{len(expectations)} {what} not served")


def exactly_once(trip: RoundTrip) -> Verdict:
    """Over contiguous windows every bounce is served in exactly one window: none lost (late
    reports included), none served again in a later window. A burst bounce lost between two
    pages of a window is page-boundaries' part."""
    served = trip.served()
    expectations = trip.bounces()
    first, last = trip.walks[0].window[0], trip.walks[-1].window[1]
    paging = trip.lost_at_page_boundaries()
    burst = trip.burst()
    located = places(trip.walks, burst, {e.message_id for e in expectations} - served.keys())
    problems = []
    for expectation in expectations:
        windows = sorted({index for index, _ in served.get(expectation.message_id, [])})
        if not windows and expectation.message_id not in paging:
            problem = f"{_label(expectation)} is in no window of {first}..{last}"
            place = located.get(expectation.message_id)
            if place is not None and place.kind == WINDOW:
                a, b = (trip.walks[i].name for i in place.windows)
                problem += f" (lost between {a} and {b})"
            problems.append(problem)
        elif len(windows) > 1:
            names = " and ".join(trip.walks[i].name for i in windows)
            problems.append(f"{_label(expectation)} is served in {names}")
    proof = (
        f"{len(expectations) - len(paging)} bounces each in exactly one of "
        f"{counted(len(trip.walks), 'window')}"
    )
    if paging:
        proof += f" ({len(paging)} lost at page boundaries are page-boundaries' part)"
    verdict = judge("exactly-once", problems, proof)
    if verdict.failed and any("no window" in p for p in problems):
        return Verdict(verdict.check, verdict.verdict, verdict.evidence + _lost_hint(trip))
    return verdict


def _lost_hint(trip: RoundTrip) -> str:
    """Why bounces may be in none of the windows: served elsewhere, or held back too long."""
    served = trip.served().keys()
    seen = [
        message_id
        for message_id in trip.served_anywhere()
        if message_id not in served and trip.plan.expectations[message_id].record is not None
    ]
    if seen and trip.elsewhere:
        return (
            f" — {len(seen)} of them are served in the last hour ({trip.elsewhere[0].name}) but "
            "in no window around their arrival: do the windows select on the event time, not "
            "on arrival (docs/spec.md §4)? A late report then lands in a window Marketing has "
            "already read"
        )
    return f" — is the endpoint's settle lag at most --settle-lag {trip.settle_lag:g}?"


def page_boundaries(trip: RoundTrip) -> Verdict:
    """The window around the whole run, read page by page in Marketing's order, holds every one
    of the run's bounces: none lost where one page ends and the next begins (nor in any other
    window of the round trip). A bounce on two pages is no-repeats' part; one lost inside a
    page, or in no window at all, exactly-once's."""
    check = "page-boundaries"
    if not trip.paging:
        return skipped(check, "the round trip's window was not read")
    walk = trip.paging[0]
    expected = {e.message_id for e in trip.bounces()}
    ours = {item.get("messageId") for _, item in walk.bounces()} & expected
    sizes = [len(items) for items in _page_items(walk) if items]
    if not ours:
        return skipped(check, f"none of the run's bounces is in {walk.name} (see exactly-once)")
    if len(sizes) < 2:
        return skipped(
            check,
            f"all {len(ours)} of the run's bounces in {walk.name} are on one page: no page "
            "boundary to judge (its pages hold more; --volume sends more)",
        )
    problems = [
        f"{message_id} missing between pages {place.pages[0]} and {place.pages[1]} of {walk.name}"
        for message_id, place in sorted(places([walk], trip.burst(), expected - ours).items())
        if place.kind == PAGE
    ]
    problems += [
        f"{message_id} missing {where}"
        for message_id, where in sorted(trip.lost_at_page_boundaries().items())
    ]
    proof = (
        f"{len(ours)} of the run's bounces on {len(sizes)} pages of {sizes[0]} in {walk.name}, "
        f"none lost at its {len(sizes) - 1} page boundaries"
    )
    return judge(check, problems, proof)


def _page_items(walk: Walk) -> list[list[dict]]:
    pages: list[list[dict]] = [[] for _ in walk.pages]
    for number, item in walk.bounces():
        pages[number].append(item)
    return pages


CHECKS = (
    ingest_accepted,
    field_mapping,
    successes_not_served,
    exactly_once,
    page_boundaries,
    stronger_status_wins,
)
NAMES = tuple(check.__name__.replace("_", "-") for check in CHECKS)
