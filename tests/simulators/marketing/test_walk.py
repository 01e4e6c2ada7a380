"""The one page walk every reader uses: which pages it asks for, and where it stops."""

from __future__ import annotations

import pytest

from smsbounce.simulators.marketing.walk import LAST_PAGE, NO_ITEMS, walk
from tests.simulators.marketing.helpers import item, page


def _server(*documents):
    """``fetch`` serving ``documents`` as pages 0, 1, …, then empty last pages; records asks."""
    asked = []

    def fetch(number):
        asked.append(number)
        return documents[number] if number < len(documents) else page(number, True)

    return fetch, asked


TWO = (page(0, False, [item("a")]), page(1, True, [item("b")]))
EARLY = (page(0, True, [item("a")]), page(1, True, [item("b")]))
EMPTY_NOT_LAST = (page(0, False, [item("a")]), page(1, False), page(2, True, [item("c")]))


@pytest.mark.parametrize(
    ("documents", "until", "past_end", "asked"),
    [
        (TWO, LAST_PAGE, False, [0, 1]),
        (TWO, LAST_PAGE, True, [0, 1, 2]),
        (TWO, NO_ITEMS, False, [0, 1, 2]),
        (EARLY, LAST_PAGE, True, [0, 1]),  # Marketing stops at the first true
        (EARLY, NO_ITEMS, False, [0, 1, 2]),  # the checker reads on: the true came early
        (EMPTY_NOT_LAST, LAST_PAGE, False, [0, 1, 2]),  # Marketing goes on after a false
        (EMPTY_NOT_LAST, NO_ITEMS, False, [0, 1]),  # the checker stops at the empty page
        ((page(0, True),), NO_ITEMS, False, [0, 1]),  # an empty window: page 1 is past it too
        (({"page": "0", "status": []},), LAST_PAGE, True, [0]),  # no lastPage: no probe
    ],
    ids=[
        "marketing",
        "marketing-probe",
        "checker",
        "marketing-early-true",
        "checker-early-true",
        "marketing-empty-false",
        "checker-empty-false",
        "checker-empty-window",
        "marketing-no-flag",
    ],
)
def test_where_a_walk_stops(documents, until, past_end, asked):
    fetch, seen = _server(*documents)
    walked = walk(fetch, until=until, past_end=past_end)
    assert seen == asked
    assert walked.past_end == (past_end and len(asked) > 1)
    assert not walked.capped


def test_the_page_limit_stops_a_walk_and_says_so():
    fetch, seen = _server(*(page(n, False, [item(str(n))]) for n in range(10)))
    walked = walk(fetch, limit=3)
    assert (seen, walked.capped) == ([0, 1, 2], True)


def test_a_failed_fetch_ends_the_walk_with_its_error():
    def fetch(number):
        if number == 1:
            raise TimeoutError("page 1")
        return page(number, False, [item(str(number))])

    with pytest.raises(TimeoutError, match="page 1"):
        walk(fetch)
