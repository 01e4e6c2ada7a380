"""Marketing's bounce pull: contiguous windows, every page until ``lastPage``, all answers checked.

A window is committed — its interactions kept, the next window starting at its end — only when
every page of it was answered. A failed request (refused, timeout, non-200, not JSON) discards
what the window had fetched so far and the same start is asked for again on the next tick, with
a later end: Marketing must neither skip the window nor book half of it twice. (SAP has not
published what Marketing does after a failed poll; this is the behaviour a buffer must survive.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from smsbounce import contracts
from smsbounce.contracts.wire import format_utc

from .checks import page_problems, past_end_problems, window_problems
from .interactions import BOUNCE_KINDS, Interaction, to_interaction
from .walk import walk
from .windows import next_window

ITEM_FIELDS = ("messageId", "recipient", "statusCode", "statusText", "type", "timestamp")
# A window of a real campaign holds thousands of pages at most; this only stops a server that
# never says lastPage from keeping the poller busy forever.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Violation:
    """A broken invariant: in which window (``start-end``), and why."""

    window: str
    reason: str

    def __str__(self) -> str:
        return f"window {self.window}: {self.reason}"


@dataclass
class WindowResult:
    start: datetime
    end: datetime
    interactions: list[Interaction] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    pages: int = 0
    failure: str | None = None  # why the window has to be asked for again

    @property
    def label(self) -> str:
        return f"{format_utc(self.start)}-{format_utc(self.end)}"


class PollFailed(Exception):
    """A request of the window got no usable answer."""


class Poller:
    """Polls ``status_url`` window after window from ``since``; thread-compatible, not safe.

    ``interactions`` and ``violations`` grow with every committed window; ``failures`` lists the
    requests that made a window be asked for again.
    """

    def __init__(
        self,
        status_url: str,
        auth: tuple[str, str],
        since: datetime,
        *,
        source_system: str = "SMSBOUNCE_SIM",
        probe_past_end: bool = True,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ):
        self.status_url = status_url
        self.auth = auth
        self.last_end = since
        self.source_system = source_system
        self.probe_past_end = probe_past_end
        self.timeout = timeout
        self.session = session or requests.Session()
        self.interactions: list[Interaction] = []
        self.violations: list[Violation] = []
        self.failures: list[str] = []
        self.windows = 0

    def tick(self, now: datetime | None = None) -> WindowResult | None:
        """Poll the window ``[last_end, now)``; None when less than a second has passed."""
        window = next_window(self.last_end, now or datetime.now(timezone.utc))
        if window is None:
            return None
        result = self.poll_window(*window)
        if result.failure is None:
            self.last_end = result.end
            self.windows += 1
            self.interactions.extend(result.interactions)
            self.violations.extend(result.violations)
        else:
            self.failures.append(f"window {result.label}: {result.failure}")
        return result

    def poll_window(self, start: datetime, end: datetime) -> WindowResult:
        """Fetch every page of ``[start, end)``; never raises for what the server answers."""
        result = WindowResult(start, end)
        try:
            walked = walk(
                lambda number: self._get(start, end, number),
                past_end=self.probe_past_end,
                limit=MAX_PAGES,
            )
        except PollFailed as exc:
            result.failure = str(exc)
            return result
        # The page past the end is the poller's probe, not a page Marketing reads.
        answers = walked.answers[:-1] if walked.past_end else walked.answers
        result.pages = len(answers)
        for number, document in enumerate(answers):
            self._take(result, number, document)
        last = answers[-1].get("lastPage") if isinstance(answers[-1], dict) else None
        if walked.capped:
            self._violate(result, f"no lastPage: true after {MAX_PAGES} pages")
        elif last is not True:
            self._violate(result, f"page {len(answers) - 1}: lastPage is {last!r}, stopping here")
        pages = [document if isinstance(document, dict) else {} for document in answers]
        for reason in window_problems(pages):
            self._violate(result, reason)
        if walked.past_end:
            for reason in past_end_problems(len(answers), walked.answers[-1]):
                self._violate(result, reason)
        return result

    def _get(self, start: datetime, end: datetime, page: int):
        params = {
            "startTimeUTC": format_utc(start),
            "endTimeUTC": format_utc(end),
            "page": str(page),
            "sourceSystem": self.source_system,
        }
        contracts.validate("status-request", params)
        try:
            response = self.session.get(
                self.status_url, params=params, auth=self.auth, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise PollFailed(f"page {page}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise PollFailed(f"page {page}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            excerpt = response.text[:120]
            raise PollFailed(f"page {page}: the answer is not JSON: {excerpt!r}") from None

    def _take(self, result: WindowResult, number: int, document) -> None:
        for reason in page_problems(number, document):
            self._violate(result, f"page {number}: {reason}")
        items = document.get("status") if isinstance(document, dict) else None
        for item in items if isinstance(items, list) else []:
            # Items the contract rejects cannot become interactions (already reported above).
            if _usable(item):
                result.interactions.append(to_interaction(item, result.label, number))

    @staticmethod
    def _violate(result: WindowResult, reason: str) -> None:
        result.violations.append(Violation(result.label, reason))


def _usable(item) -> bool:
    return (
        isinstance(item, dict)
        and all(isinstance(item.get(name), str) for name in ITEM_FIELDS)
        and item["type"] in BOUNCE_KINDS
    )
