"""Page and window invariants of the status route: tables of broken answers, each explained."""

from __future__ import annotations

import pytest

from smsbounce.simulators.marketing.checks import (
    first_difference,
    page_problems,
    past_end_problems,
    unsteady,
    window_problems,
)
from tests.simulators.marketing.helpers import item, page


def test_a_good_page_has_no_problems():
    assert page_problems(3, page(3, True, [item()])) == []


@pytest.mark.parametrize(
    ("requested", "document", "expected"),
    [
        (0, {"page": 0, "lastPage": True, "status": []}, "page is echoed as 0 (int)"),
        (1, page(0, True), "page is echoed as '0' (str), expected the string '1'"),
        (0, {"page": "0", "lastPage": "true", "status": []}, "'true' is not of type 'boolean'"),
        (0, {"page": "0", "status": []}, "'lastPage' is a required property"),
        (0, page(0, True, [item(ingestTime="x")]), "Additional properties are not allowed"),
        (0, page(0, True, [item(kind="Soft")]), "'Soft' is not one of"),
        (0, page(0, True, [item(timestamp="2026-01-01")]), "$.status[0].timestamp"),
        (0, [], "[] is not of type 'object'"),
    ],
    ids=[
        "page-as-number",
        "wrong-page-echoed",
        "lastPage-as-string",
        "lastPage-missing",
        "internal-column-leaks",
        "unknown-type",
        "timestamp-format",
        "not-an-object",
    ],
)
def test_page_problems_name_the_fault(requested, document, expected):
    problems = page_problems(requested, document)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        ([page(0, False, [item("1")]), page(1, True, [item("2")])], []),
        ([page(0, True)], []),
        (
            [page(0, False, [item("1")]), page(1, True, [item("1")])],
            ["messageId '1' is served 2 times in one window"],
        ),
        (
            [page(0, False), page(1, True, [item("2")])],
            ["page 0: empty, but lastPage is false"],
        ),
        (
            [page(0, False, [item("1"), item("2")]), page(1, False, [item("3")]), page(2, True)],
            ["pages before the last differ in size: [1, 2]"],
        ),
        (
            [page(0, True, [item("1")]), page(1, True, [item("2")])],
            ["page 0: lastPage is True before the end"],
        ),
    ],
    ids=["two-pages", "empty", "duplicate", "empty-middle-page", "short-middle-page", "early-last"],
)
def test_window_problems(pages, expected):
    assert window_problems(pages) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (page(2, True), []),
        (
            page(2, True, [item()]),
            ["page 2 after the last page holds 1 items: lastPage came too early"],
        ),
        (page(2, False), ["page 2 after the last page has lastPage False"]),
    ],
    ids=["empty-and-last", "more-items", "not-last"],
)
def test_past_end_problems(document, expected):
    assert past_end_problems(2, document) == expected


@pytest.mark.parametrize(
    ("sizes", "breaking"),
    [([100, 100, 58], []), ([5], []), ([100, 60, 60], [1]), ([7, 7, 8], [2]), ([], [])],
    ids=["steady", "one-page", "shrinking", "longer-last", "none"],
)
def test_a_steady_page_size_lets_only_the_last_page_be_shorter(sizes, breaking):
    assert unsteady(sizes) == breaking


def test_two_reads_of_a_window_differ_at_the_first_page_that_moved():
    first = [page(0, False, [item("1"), item("2")]), page(1, True, [item("3")])]
    assert first_difference(first, [dict(p) for p in first]) is None
    moved = [page(0, False, [item("1"), item("3")]), page(1, True, [item("2")])]
    assert first_difference(first, moved) == 0
    assert first_difference(first, [first[0], page(1, False, [item("3")])]) == 1
    assert first_difference(first, first[:1]) == 1
