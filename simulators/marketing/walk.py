"""Marketing's page walk: one window read page 0, 1, … in order, one request at a time
(docs/spec.md §2.1).

Every reader of a status window walks it here — the Marketing simulator, ``smsbounce verify`` and
the tests — so "which pages were asked for, and when did the walk stop" has one answer. Fetching
is the caller's (plain requests, ``verify``'s recorded exchanges, a test's asserting helper): a
fetch may raise, and the walk stops with it. Pure otherwise: no HTTP here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .checks import items

# How a walk ends. Marketing stops at the first page that does not say ``lastPage: false``; a
# checker reads on to the first page holding no items, whatever ``lastPage`` said, so that a
# premature ``true`` and a ``false`` on an empty page both show.
LAST_PAGE, NO_ITEMS = "lastPage", "no items"

A = TypeVar("A")


@dataclass
class Walked(Generic[A]):
    """``answers[i]`` answered ``page=i``, in request order. ``capped``: the page limit ended the
    walk; ``past_end``: the last answer is the page after ``lastPage: true``, which Marketing
    never asks for (only with ``past_end=True``)."""

    answers: list[A] = field(default_factory=list)
    capped: bool = False
    past_end: bool = False


def _same(answer: Any) -> Any:
    return answer


def walk(
    fetch: Callable[[int], A],
    *,
    until: str = LAST_PAGE,
    past_end: bool = False,
    limit: int = 10_000,
    document: Callable[[A], Any] = _same,
) -> Walked[A]:
    """Read pages 0, 1, … with ``fetch(page)`` until the walk ends (see ``LAST_PAGE``,
    ``NO_ITEMS``) or ``limit`` pages were read. ``document(answer)`` is the page's JSON (the
    answer itself by default; None when there is none to go on from).

    ``past_end``: after a ``lastPage: true``, ask for one page more (Marketing's walk only).
    A checker's walk of an empty window reads page 1 too: it is past the end as well.
    """
    walked: Walked[A] = Walked()
    while True:
        number = len(walked.answers)
        answer = fetch(number)
        walked.answers.append(answer)
        page = document(answer)
        if until == LAST_PAGE:
            said = page.get("lastPage") if isinstance(page, dict) else None
            if said is not False:  # true, or not a boolean: Marketing cannot go on
                if past_end and said is True:
                    walked.answers.append(fetch(number + 1))
                    walked.past_end = True
                return walked
        else:
            if not isinstance(page, dict) or not isinstance(page.get("status"), list):
                return walked
            if not items(page):
                if number == 0:
                    walked.answers.append(fetch(1))
                return walked
        if number + 1 >= limit:
            walked.capped = True
            return walked
