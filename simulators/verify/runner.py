"""One verify run: make the requests, then hand what was seen to the pure checks.

Order matters only for time: reports go in first, the read side is probed while their settle
lag passes, and the round-trip windows are read once Marketing would read them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from smsbounce.simulators.marketing import walk as pages

from . import ingest, providers, readside, roundtrip
from . import plan as roundtrip_plan
from .verdict import FAIL, Verdict, skipped
from .walk import Walk, document
from .wire import Client, CouldNotRun, Exchange

SOURCE_SYSTEM = "SMSBOUNCE_VERIFY"
# A window no deployment has data in: the checker sees an empty window without writing anything.
EMPTY_WINDOW = ("20000101000000", "20000101000100")
RECENT = timedelta(hours=1)
LEADING = timedelta(seconds=60)
SPLITS = 3
_SETUP_ANSWERS = {
    401: "the endpoint answered 401 {who}: check --user and --password",
    403: "the endpoint answered 403: the user lacks the role the status endpoint requires",
    404: "the endpoint answered 404: is --status-url the status endpoint?",
    405: "the endpoint answered 405 to GET: is --status-url the status endpoint?",
}


@dataclass(frozen=True)
class Options:
    status_url: str
    user: str | None = None
    password: str | None = None
    ingest_url: str | None = None
    provider: str = "di"
    twilio_auth_token: str | None = None
    settle_lag: float = 30.0
    timeout: float = 30.0
    max_latency: float = 5.0
    max_pages: int = 200


@dataclass
class Result:
    options: Options
    verdicts: list[Verdict]
    started: datetime
    finished: datetime
    prefix: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == FAIL]

    @property
    def passed(self) -> bool:
        return not self.failures


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _floor(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def roundtrip_windows(t0: datetime, t1: datetime, settle_lag: float) -> list[tuple[str, str]]:
    """Contiguous windows that must hold every report sent between ``t0`` and ``t1``.

    An endpoint with settle lag L <= ``settle_lag`` serves a report received at t in the window
    holding t + L, so the windows span [t0, t1 + settle_lag + 1 s), split at whole seconds; a
    leading window before t0 must hold none of them.
    """
    start = _floor(t0)
    end = _floor(t1) + timedelta(seconds=1 + math.ceil(settle_lag))
    seconds = int((end - start).total_seconds())
    count = min(SPLITS, seconds)
    bounds = [start + timedelta(seconds=round(i * seconds / count)) for i in range(count + 1)]
    windows = [(start - LEADING, start)] + list(zip(bounds, bounds[1:], strict=False))
    return [(stamp(a), stamp(b)) for a, b in windows]


class Runner:
    def __init__(self, options: Options, progress: Callable[[str], None], now, wait):
        self.options = options
        self.progress = progress
        self.now = now
        self.wait = wait
        auth = (options.user, options.password or "") if options.user else None
        self.client = Client(options.status_url, auth, options.timeout, options.ingest_url)

    def page(self, window: tuple[str, str], number: int) -> Exchange:
        start, end = window
        params = {"startTimeUTC": start, "endTimeUTC": end, "page": str(number)}
        return self.client.status({**params, "sourceSystem": SOURCE_SYSTEM})

    def walk(self, window: tuple[str, str], first: Exchange | None = None) -> Walk:
        """Read a window page by page until a page has no items (see ``Walk``)."""

        def fetch(number: int) -> Exchange:
            return first if number == 0 and first is not None else self.page(window, number)

        walked = pages.walk(
            fetch,
            until=pages.NO_ITEMS,
            limit=self.options.max_pages,
            document=document,
        )
        return Walk(window, walked.answers, walked.capped)

    def preflight(self) -> Exchange:
        """The first request; answers that mean "wrong URL or credentials" stop the run."""
        first = self.page(EMPTY_WINDOW, 0)
        if first.status is None:
            raise CouldNotRun(f"{first.error}.")
        template = _SETUP_ANSWERS.get(first.status)
        if template:
            who = "to the given credentials" if self.options.user else "without credentials"
            raise CouldNotRun(template.format(who=who) + ".")
        return first

    def plan(self, prefix: str, started: datetime) -> roundtrip_plan.Plan:
        if self.options.provider == "di":
            return roundtrip_plan.plan(prefix, started)
        return providers.plan(
            self.options.provider,
            prefix,
            started,
            twilio_auth_token=self.options.twilio_auth_token,
        )

    def send(self, plan: roundtrip_plan.Plan) -> tuple[list[Exchange], list[str | None]]:
        """Send every request; per report, its request's answer and why it was not taken."""
        assert self.options.ingest_url is not None
        total = len(plan.reports)
        answers: list[Exchange] = [None] * total  # type: ignore[list-item]
        refusals: list[str | None] = [None] * total
        sent = 0
        for request in ingest.sends(plan, self.options.ingest_url):
            first = plan.reports[request.reports[0]].message_id
            label = f"report {first}" + (
                f" and {len(request.reports) - 1} more" if len(request.reports) > 1 else ""
            )
            answer = self.client.send(
                request.method, request.url, label, request.body, request.headers
            )
            for position, index in enumerate(request.reports):
                answers[index] = answer
                refusals[index] = ingest.refusal(plan, answer, position, len(request.reports))
            before, sent = sent, sent + len(request.reports)
            if sent // 25 > before // 25 or sent == total:
                self.progress(f"sent {sent}/{total} reports")
        return answers, refusals

    def probes(self, window: tuple[str, str]) -> list[Exchange]:
        start, end = window
        invalid = [
            {"startTimeUTC": start, "endTimeUTC": end, "page": "abc"},
            {"startTimeUTC": start, "endTimeUTC": end, "page": "-1"},
            {"startTimeUTC": start, "page": "0"},
            {"startTimeUTC": "2024-01-01", "endTimeUTC": end, "page": "0"},
            {"startTimeUTC": start[:4] + "1301000000", "endTimeUTC": end, "page": "0"},
        ]
        return [self.client.status({**p, "sourceSystem": SOURCE_SYSTEM}) for p in invalid]

    def unauthenticated(self, window: tuple[str, str]) -> list[Exchange] | None:
        if not self.options.user:
            return None
        params = {"startTimeUTC": window[0], "endTimeUTC": window[1], "page": "0"}
        wrong = (self.options.user, (self.options.password or "") + "-not-the-password")
        return [
            self.client.status(params, auth=None, note=" without credentials"),
            self.client.status(params, auth=wrong, note=" with a wrong password"),
        ]

    def run(self) -> Result:
        started = self.now()
        options = self.options
        self.progress(f"checking {options.status_url}")
        first = self.preflight()
        plan = prefix = None
        if options.ingest_url:
            prefix = roundtrip_plan.run_prefix()
            plan = self.plan(prefix, started)
            self.progress(
                f"sending {len(plan.reports)} reports in {options.provider}'s format "
                f"tagged {prefix}…"
            )
            t0 = self.now()
            answers, refusals = self.send(plan)
            t1 = self.now()

        self.progress("reading an empty window and the last hour")
        now = _floor(self.now())
        recent = (stamp(now - RECENT), stamp(now))
        walks = [self.walk(EMPTY_WINDOW, first), self.walk(recent)]
        self.progress("sending invalid and unauthenticated requests")
        side = readside.ReadSide(
            walks, self.probes(recent), self.unauthenticated(recent), options.max_latency
        )

        if plan is not None:
            windows = roundtrip_windows(t0, t1, options.settle_lag)
            end = datetime.strptime(windows[-1][1], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
            remaining = (end - self.now()).total_seconds()
            if remaining > 0:
                # Marketing reads a window only once it has ended; so must the checker.
                self.progress(f"waiting {remaining:.0f} s for the windows to close (settle lag)")
                self.wait(remaining)
            self.progress(f"reading {len(windows)} contiguous windows")
            trip_walks = [self.walk(window) for window in windows]
            walks.extend(trip_walks)
            trip = roundtrip.RoundTrip(plan, answers, trip_walks, options.settle_lag, refusals)
            trip_verdicts = [check(trip) for check in roundtrip.CHECKS]
        else:
            why = "no --ingest-url given: round-trip checks need to send reports"
            trip_verdicts = [skipped(name, why) for name in roundtrip.NAMES]

        verdicts = [check(side) for check in readside.CHECKS] + trip_verdicts
        notes = [f"window {w.name} stopped at {options.max_pages} pages" for w in walks if w.capped]
        self.client.close()
        return Result(options, verdicts, started, self.now(), prefix, notes)


def run(
    options: Options,
    progress: Callable[[str], None] = lambda message: None,
    now: Callable[[], datetime] = utc_now,
    wait: Callable[[float], None] = time.sleep,
) -> Result:
    """Run every check; raise ``CouldNotRun`` when the endpoint cannot be checked at all."""
    return Runner(options, progress, now, wait).run()
