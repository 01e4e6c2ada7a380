"""One verify run: make the requests, then hand what was seen to the pure checks.

The endpoint's own windows are read first (they show its page size), then the round trip's
reports go in and the read side is probed while their settle lag passes; the round trip's
windows are read once Marketing would read them. One of them is chosen around the whole run,
so that it holds at least ``PAGES`` pages at the endpoint's page size however fast the reports
went out; if it holds fewer, more of the burst is sent once and it is read again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from smsbounce.contracts.wire import format_utc, parse_utc
from smsbounce.simulators.marketing import walk as pages

from . import ingest, providers, readside, roundtrip
from . import plan as roundtrip_plan
from .verdict import FAIL, Verdict, skipped
from .walk import Walk, document, sizes
from .wire import Client, CouldNotRun, Exchange

SOURCE_SYSTEM = "SMSBOUNCE_VERIFY"
# A window no deployment has data in: the checker sees an empty window without writing anything.
EMPTY_WINDOW = ("20000101000000", "20000101000100")
RECENT = timedelta(hours=1)
LEADING = timedelta(seconds=60)
SPLITS = 3
PAGES = 2.5  # pages the round trip's window holds at least (issue 15)
# When all of the window fits on one page, its page size is unknown: assume Marketing's largest
# package (docs/spec.md §1), which is also the largest page our buffer serves.
LARGEST_PAGE = 1000
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
    volume: int | None = None  # burst size; None: PAGES pages at the endpoint's page size


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

    def table(self) -> str:
        """Every check's verdict and evidence, as ``smsbounce verify`` prints it."""
        from .reports import table  # reports reads Result: imported when asked for

        return table(self)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


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
    return [(format_utc(a), format_utc(b)) for a, b in windows]


def paging_window(windows: list[tuple[str, str]]) -> tuple[str, str]:
    """The window around the whole run: from the first contiguous window's start to the last's
    end (``windows[0]`` is the leading window)."""
    return windows[1][0], windows[-1][1]


def shown_page_size(walks: list[Walk]) -> int | None:
    """The page size an endpoint showed: page 0's entries in a window with more pages."""
    for walk in walks:
        counts = sizes(walk)
        if len(counts) > 1:
            return counts[0]
    return None


def burst_size(page_size: int | None) -> int:
    """How many bounces the burst sends by default: ``PAGES`` pages at ``page_size``, or at the
    article's 100 when the endpoint has shown none (``plan.BURST``)."""
    return math.ceil(PAGES * page_size) if page_size else roundtrip_plan.BURST


def top_up(walk: Walk, ours: bool) -> int:
    """How many more bounces the round trip's window needs for ``PAGES`` pages at the page size
    it shows; 0 when it has them, or holds none of the run's (more would not land in it
    either). When everything fits on one page, the pages hold more: ``LARGEST_PAGE`` is
    assumed."""
    counts = sizes(walk)
    if not ours or walk.capped:
        return 0
    total = sum(counts)
    page = counts[0] if len(counts) > 1 else max(LARGEST_PAGE, total + 1)
    return max(0, math.ceil(PAGES * page) - total)


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

    def walk(
        self, window: tuple[str, str], first: Exchange | None = None, limit: int | None = None
    ) -> Walk:
        """Read a window page by page until a page has no items (see ``Walk``)."""

        def fetch(number: int) -> Exchange:
            return first if number == 0 and first is not None else self.page(window, number)

        walked = pages.walk(
            fetch,
            until=pages.NO_ITEMS,
            limit=limit or self.options.max_pages,
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

    def plan(self, prefix: str, started: datetime, burst: int) -> roundtrip_plan.Plan:
        if self.options.provider == "di":
            return roundtrip_plan.plan(prefix, started, burst)
        return providers.plan(
            self.options.provider,
            prefix,
            started,
            twilio_auth_token=self.options.twilio_auth_token,
            burst_size=burst,
        )

    def more(
        self, plan: roundtrip_plan.Plan, prefix: str, started: datetime, first: int, count: int
    ) -> roundtrip_plan.Plan:
        """Burst bounces ``first`` … of the run, in its provider's format."""
        if plan.format is None:
            return roundtrip_plan.burst(prefix, started, first, count)
        return providers.burst(plan, prefix, started, first, count)

    def close(self, window: tuple[str, str]) -> None:
        """Wait until ``window`` has ended: Marketing reads a window only then; so must the
        checker."""
        end = parse_utc(window[1])
        remaining = (end - self.now()).total_seconds()
        if remaining > 0:
            self.progress(f"waiting {remaining:.1f} s for the windows to close (settle lag)")
            self.wait(remaining)

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

    def last_hour(self) -> tuple[str, str]:
        now = _floor(self.now())
        return format_utc(now - RECENT), format_utc(now)

    def run(self) -> Result:
        started = self.now()
        options = self.options
        self.progress(f"checking {options.status_url}")
        first = self.preflight()
        self.progress("reading an empty window and the last hour")
        recent = self.last_hour()
        walks = [self.walk(EMPTY_WINDOW, first), self.walk(recent)]
        trip = None
        if options.ingest_url:
            trip = _Trip(self, started, options.volume or burst_size(shown_page_size(walks)))
            trip.send()
        self.progress("sending invalid and unauthenticated requests")
        side = readside.ReadSide(
            walks, self.probes(recent), self.unauthenticated(recent), options.max_latency
        )
        if trip is None:
            why = "no --ingest-url given: round-trip checks need to send reports"
            trip_verdicts = [skipped(name, why) for name in roundtrip.NAMES]
            self.progress("reading the last hour again")
            again = self.walk(recent)
            walks.append(again)
            side.rereads.append((walks[1], again))
        else:
            walks.extend(trip.read())
            # The last hour now holds the run's bounces too: a settled window of several pages.
            self.progress("reading the last hour twice")
            hour = self.last_hour()
            twice = (self.walk(hour, limit=trip.limit()), self.walk(hour, limit=trip.limit()))
            walks.extend(twice)
            side.rereads += [(trip.paging[0], trip.paging[1]), twice]
            trip_verdicts = [check(trip.judged(twice[0])) for check in roundtrip.CHECKS]

        verdicts = [check(side) for check in readside.CHECKS] + trip_verdicts
        notes = [f"window {w.name} stopped at {len(w.pages)} pages" for w in walks if w.capped]
        self.client.close()
        prefix = trip.prefix if trip else None
        return Result(options, verdicts, started, self.now(), prefix, notes)


class _Trip:
    """The round trip's state: what was sent, when, and the windows read for it."""

    def __init__(self, runner: Runner, started: datetime, burst: int):
        self.runner, self.started, self.burst = runner, started, burst
        self.prefix = roundtrip_plan.run_prefix()
        self.plan = runner.plan(self.prefix, started, burst)
        self.answers: list[Exchange] = []
        self.refusals: list[str | None] = []
        self.walks: list[Walk] = []
        self.paging: list[Walk] = []

    def send(self, plan: roundtrip_plan.Plan | None = None) -> None:
        runner, options = self.runner, self.runner.options
        plan = plan or self.plan
        runner.progress(
            f"sending {len(plan.reports)} reports in {options.provider}'s format "
            f"tagged {self.prefix}…"
        )
        if not self.answers:
            self.t0 = runner.now()
        answers, refusals = runner.send(plan)
        self.t1 = runner.now()
        self.answers += answers
        self.refusals += refusals

    def windows(self) -> list[tuple[str, str]]:
        return roundtrip_windows(self.t0, self.t1, self.runner.options.settle_lag)

    def read_paging(self, windows: list[tuple[str, str]]) -> Walk:
        runner = self.runner
        window = paging_window(windows)
        runner.close(window)
        walk = runner.walk(window, limit=self.limit())
        counts = sizes(walk)
        pages = f"{len(counts)} page" + ("" if len(counts) == 1 else "s")
        held = f"{sum(counts)} entries on {pages}"
        runner.progress(f"the round trip's window {walk.name} holds {held}")
        return walk

    def limit(self) -> int:
        # Each of the run's bounces may need a page of its own (page size 1).
        return self.runner.options.max_pages + len(self.plan.expectations)

    def read(self) -> list[Walk]:
        """Read the round trip's windows once they have closed; every walk, in reading order."""
        runner, read = self.runner, []
        paging = self.read_paging(self.windows())
        ours = any(item.get("messageId") in self.plan.expectations for _, item in paging.bounces())
        extra = 0 if runner.options.volume else top_up(paging, ours)
        if extra:
            read.append(paging)
            counts = sizes(paging)
            shown = f"its pages hold {counts[0]}" if len(counts) > 1 else "it fits on one page"
            runner.progress(f"{shown}: {extra} more bounces for {PAGES:g} pages")
            more = runner.more(self.plan, self.prefix, self.started, self.burst, extra)
            self.send(more)
            self.plan = roundtrip_plan.Plan(
                self.plan.reports + more.reports,
                {**self.plan.expectations, **more.expectations},
                self.plan.provider,
                self.plan.format,
                self.plan.notes,
            )
            self.burst += extra
            paging = self.read_paging(self.windows())
        windows = self.windows()
        runner.progress(f"reading {len(windows)} contiguous windows and that window again")
        self.walks = [runner.walk(window, limit=self.limit()) for window in windows]
        again = runner.walk(paging.window, limit=self.limit())
        self.paging = [paging, again]
        return [*read, paging, *self.walks, again]

    def judged(self, hour: Walk) -> roundtrip.RoundTrip:
        """What the round-trip checks judge; ``hour``: the last hour, read at the end."""
        return roundtrip.RoundTrip(
            self.plan,
            self.answers,
            self.walks,
            self.runner.options.settle_lag,
            self.refusals,
            self.paging,
            [hour],
        )


def run(
    options: Options,
    progress: Callable[[str], None] = lambda message: None,
    now: Callable[[], datetime] = utc_now,
    wait: Callable[[float], None] = time.sleep,
) -> Result:
    """Run every check; raise ``CouldNotRun`` when the endpoint cannot be checked at all."""
    return Runner(options, progress, now, wait).run()


def verify(
    status_url: str,
    auth: tuple[str, str] | None = None,
    *,
    progress: Callable[[str], None] = lambda message: None,
    **options,
) -> Result:
    """``smsbounce verify`` as a function: every check against ``status_url`` (with basic
    ``auth``), the round trip too when ``ingest_url`` is given. ``options`` are ``Options``'
    fields (``ingest_url``, ``provider``, ``settle_lag``, ``volume``, ``timeout`` …).

    Returns the ``Result``: ``passed``, ``failures`` (each a ``Verdict`` with its ``check`` and
    ``evidence``), ``table()``. Raises ``CouldNotRun`` when the endpoint cannot be checked at
    all (unreachable, TLS failure, 401/403/404/405 on the first request).
    """
    user, password = auth if auth else (None, None)
    return run(Options(status_url, user, password, **options), progress)
