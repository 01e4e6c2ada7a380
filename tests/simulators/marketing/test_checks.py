"""Page and window invariants of the status route: tables of broken answers, each explained."""

from __future__ import annotations

import pytest

from smsbounce.simulators.marketing.checks import page_problems, past_end_problems, window_problems
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
