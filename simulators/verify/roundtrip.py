"""Round-trip checks: the run's own reports went in through the ingest URL; did Marketing's
windows serve exactly what docs/spec.md §3–§4 say? Pure functions over what was sent and read.

A message whose report was not accepted is left to ``ingest-accepted`` and judged nowhere else;
served records are looked up by this run's prefix only, so other data never counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

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
    default is "not 2xx"); ``walks`` are contiguous windows in order."""

    plan: Plan
    answers: list[Exchange]
    walks: list[Walk]
    settle_lag: float = 0.0
    refusals: list[str | None] | None = None

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
    proof = f"{len(trip.answers)} reports answered 2xx"
    if trip.plan.provider == "jasmin":
        proof = f"{len(trip.answers)} reports answered 2xx ACK/Jasmin"
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
    served = trip.served()
    expectations = [e for e in trip.judged_by(check) if e.message_id in served]
    if not expectations:
        return skipped(check, "none of its messages was served (see exactly-once)")
    problems = []
    for expectation in expectations:
        _, item = served[expectation.message_id][0]
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
    served = trip.served()
    expectations = [e for e in trip.plan.expectations.values() if e.judge == SUCCESS]
    problems = [
        f"{_label(e)} served as {served[e.message_id][0][1].get('type')!r}"
        for e in expectations
        if e.message_id in served
    ]
    what = "successes"
    if any(e.key == "progress" for e in expectations):
        what = "success and progress reports"
    return judge("successes-not-served", problems, f"{len(expectations)} {what} not served")


def exactly_once(trip: RoundTrip) -> Verdict:
    """Over contiguous windows every bounce is served in exactly one window: none lost (late
    reports included), none served again in a later window."""
    served = trip.served()
    expectations = [e for e in trip.judged_by(MAPPING) + trip.judged_by(RANKING)]
    first, last = trip.walks[0].window[0], trip.walks[-1].window[1]
    problems = []
    for expectation in expectations:
        windows = sorted({index for index, _ in served.get(expectation.message_id, [])})
        if not windows:
            problems.append(f"{_label(expectation)} is in no window of {first}..{last}")
        elif len(windows) > 1:
            names = " and ".join(trip.walks[i].name for i in windows)
            problems.append(f"{_label(expectation)} is served in {names}")
    verdict = judge(
        "exactly-once",
        problems,
        f"{len(expectations)} bounces each in exactly one of {len(trip.walks)} windows",
    )
    if verdict.failed and any("no window" in p for p in problems):
        hint = f" — is the endpoint's settle lag at most --settle-lag {trip.settle_lag:g}?"
        return Verdict(verdict.check, verdict.verdict, verdict.evidence + hint)
    return verdict


CHECKS = (ingest_accepted, field_mapping, successes_not_served, exactly_once, stronger_status_wins)
NAMES = tuple(check.__name__.replace("_", "-") for check in CHECKS)
