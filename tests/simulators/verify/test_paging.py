"""verify's paging coverage without HTTP: how big the burst is, where a lost bounce fell, and the
verdicts of page-size, same-pages, page-boundaries and exactly-once on hand-made walks."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from smsbounce.simulators.verify import plan as roundtrip_plan
from smsbounce.simulators.verify import readside, roundtrip, runner
from smsbounce.simulators.verify.boundaries import INSIDE, PAGE, WINDOW, places
from smsbounce.simulators.verify.walk import Walk
from smsbounce.simulators.verify.wire import Exchange

NOW = datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc)
W = ("20260201100000", "20260201100100")


def _exchange(body) -> Exchange:
    return Exchange("GET ?page", 200, "application/json", json.dumps(body).encode(), 0.01)


def _walk(*pages, window=W, capped=False) -> Walk:
    """A checker's walk over ``pages`` (lists of messageIds), then the empty page past them."""
    bodies = [
        {"page": str(n), "lastPage": n == len(pages) - 1, "status": [_item(i) for i in ids]}
        for n, ids in enumerate(pages)
    ]
    if not capped:
        bodies.append({"page": str(len(pages)), "lastPage": True, "status": []})
    return Walk(window, [_exchange(b) for b in bodies], capped)


def _item(message_id: str) -> dict:
    return {
        "messageId": message_id,
        "recipient": "+4915112345608",
        "statusCode": "0x4503",
        "statusText": "No operator for this number",
        "type": "Permanent",
        "timestamp": "20260201095000",
    }


def _pages(ids: list[str], size: int, skip: int = 0) -> list[list[str]]:
    """``ids`` cut into pages of ``size``, each page after the first starting ``skip`` late."""
    pages, at = [], 0
    while at < len(ids):
        pages.append(ids[at : at + size])
        at += size + skip
    return pages


# --- how much the round trip sends ----------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "burst"), [(None, 250), (1, 3), (7, 18), (100, 250), (1000, 2500)]
)
def test_the_burst_fills_two_and_a_half_pages_of_what_the_endpoint_shows(shown, burst):
    assert runner.burst_size(shown) == burst


def test_the_page_size_shows_only_in_a_window_with_more_pages():
    assert runner.shown_page_size([_walk(["a", "b", "c"])]) is None
    assert runner.shown_page_size([_walk(["a"]), _walk(["a", "b"], ["c"])]) == 2


@pytest.mark.parametrize(
    ("pages", "ours", "more"),
    [
        ([["x"] * 100, ["x"] * 100, ["x"] * 58], True, 0),  # 258 on pages of 100: enough
        ([["x"] * 150, ["x"] * 108], True, 117),  # 2 pages of 150: 375 make 2.5
        ([["x"] * 258], True, 2242),  # one page: its size is unknown, 1,000 assumed
        ([["x"] * 1200], True, 1803),  # one page of 1,200: 2.5 x 1,201 assumed
        ([["x"] * 258], False, 0),  # none of the run's: more would not land here either
    ],
    ids=["enough", "larger-pages", "one-page", "one-huge-page", "not-ours"],
)
def test_a_window_short_of_two_and_a_half_pages_asks_for_more(pages, ours, more):
    assert runner.top_up(_walk(*pages), ours) == more


def test_a_capped_window_needs_no_more():
    assert runner.top_up(_walk(["x"] * 5, ["x"] * 5, capped=True), True) == 0


def test_the_paging_window_spans_the_contiguous_windows():
    t0 = datetime(2026, 2, 1, 10, 0, 0, 300_000, tzinfo=timezone.utc)
    t1 = datetime(2026, 2, 1, 10, 0, 7, 100_000, tzinfo=timezone.utc)
    windows = runner.roundtrip_windows(t0, t1, 3)
    assert runner.paging_window(windows) == ("20260201100000", "20260201100011")
    assert len(windows) == 1 + runner.SPLITS


# --- where a missing bounce fell -------------------------------------------------------------

BURST = [f"b{n}" for n in range(12)]


def test_a_bounce_missing_between_two_pages_fell_at_the_boundary():
    walk = _walk(*_pages(BURST, 5, skip=1))  # b5 and b11 are lost
    found = places([walk], BURST, {"b5", "b11", "not-in-the-burst"})
    assert list(found) == ["b5"]  # b11 lies after the last served one: no boundary around it
    assert (found["b5"].kind, found["b5"].pages) == (PAGE, (0, 1))


def test_a_bounce_missing_inside_a_page_or_between_windows_is_not_a_page_boundary():
    inside = _walk([*BURST[:3], *BURST[4:6]])
    assert places([inside], BURST, {"b3"})["b3"].kind == INSIDE
    first, second = _walk(BURST[:4]), _walk(BURST[5:], window=("20260201100100", "x"))
    place = places([first, second], BURST, {"b4"})["b4"]
    assert (place.kind, place.windows) == (WINDOW, (0, 1))


def test_nothing_is_placed_when_the_order_is_not_the_sending_order():
    walk = _walk(["b1", "b0", "b2"], ["b4"])
    assert places([walk], BURST, {"b3"}) == {}


# --- page-size and same-pages ----------------------------------------------------------------


def _side(*walks, rereads=()):
    return readside.ReadSide(list(walks), rereads=list(rereads))


@pytest.mark.parametrize(
    ("walks", "verdict", "evidence"),
    [
        ([_walk(["a"] * 5, ["b"] * 5, ["c"] * 2)], "pass", "steady pages of 5 entries in 1 wind"),
        ([_walk(["a"] * 5, ["b"] * 3, ["c"] * 2)], "fail", "holds 3 entries, page 0 5: only the"),
        ([_walk(["a"] * 5, ["b"] * 6)], "fail", "page=1 of 20260201100000..20260201100100 (the"),
        ([_walk(["a"] * 5, ["b"] * 4, capped=True)], "fail", "holds 4 entries, page 0 5"),
        ([_walk(["a"] * 5), _walk()], "skip", "no window read had more than one page"),
        ([_walk(["a"] * 101, ["b"])], "pass", "pages of 101 entries hold more than the article's"),
    ],
    ids=["steady", "short-middle", "long-last", "capped-short", "no-pages", "over-100"],
)
def test_page_size(walks, verdict, evidence):
    result = readside.page_size(_side(*walks))
    assert result.verdict == verdict and evidence in result.evidence, result


def test_page_size_fails_with_the_note_on_large_pages_kept():
    result = readside.page_size(_side(_walk(["a"] * 200, ["b"] * 100, ["c"])))
    assert result.verdict == "fail" and "more than the article's" in result.evidence


@pytest.mark.parametrize(
    ("second", "verdict", "evidence"),
    [
        (_walk(["a", "b"], ["c"]), "pass", "each read twice, served the same pages both"),
        (_walk(["a", "c"], ["b"]), "fail", "page 0 held 2 entries from 'a', lastPage false, then"),
        (_walk(["b", "a"], ["c"]), "fail", "read twice: page 0 held 2 entries from 'a'"),
        (_walk(["a", "b"], ["c"], ["d"]), "fail", "page 1 held 1 entries from 'c', lastPage true"),
        (_walk(["a", "b"]), "fail", "page 0 held 2 entries from 'a', lastPage false, then 2 "),
    ],
    ids=["same", "moved", "reordered", "grew", "shrank"],
)
def test_same_pages(second, verdict, evidence):
    first = _walk(["a", "b"], ["c"])
    result = readside.same_pages(_side(first, second, rereads=[(first, second)]))
    assert result.verdict == verdict and evidence in result.evidence, result


def test_same_pages_is_skipped_without_a_second_read():
    assert readside.same_pages(_side(_walk(["a"]))).verdict == "skip"


# --- page-boundaries and exactly-once on a run of 12 burst bounces ----------------------------


def _trip(contiguous: list[list[list[str]]], paging: list[list[str]] | None) -> roundtrip.RoundTrip:
    """A round trip whose reports were all taken; ``contiguous``: per window its pages."""
    plan = roundtrip_plan.burst("sbv000000-", NOW, 0, 12)
    answers = [_exchange({"result": "stored"})] * len(plan.reports)
    walks = [_walk(window=("20260201095900", "20260201100000"))]  # the leading window
    walks += [_walk(*pages, window=(f"w{n}", f"w{n + 1}")) for n, pages in enumerate(contiguous)]
    reads = [] if paging is None else [_walk(*paging)] * 2
    return roundtrip.RoundTrip(plan, answers, walks, 0.0, None, reads)


IDS = [f"sbv000000-{roundtrip_plan.burst_suffix(n)}" for n in range(12)]


def test_a_bounce_lost_at_a_page_boundary_fails_page_boundaries_not_exactly_once():
    skipping = _pages(IDS, 5, skip=1)  # IDS[5] lost between page 0 and 1; IDS[11] at the end
    trip = _trip([skipping], skipping)
    boundaries, once = roundtrip.page_boundaries(trip), roundtrip.exactly_once(trip)
    assert boundaries.verdict == "fail", boundaries
    assert f"{IDS[5]} missing between pages 0 and 1 of {W[0]}..{W[1]}" in boundaries.evidence
    assert f"{IDS[5]} missing between pages 0 and 1 of w0..w1" in boundaries.evidence
    # IDS[11] is after the last served bounce: no boundary around it, so it is exactly-once's.
    assert once.verdict == "fail" and IDS[11] in once.evidence and IDS[5] not in once.evidence
    assert "lost at page boundaries are page-boundaries' part" not in once.evidence


def test_a_bounce_lost_between_windows_is_exactly_onces():
    trip = _trip([[IDS[:4]], [IDS[5:]]], _pages(IDS, 5))
    assert roundtrip.page_boundaries(trip).verdict == "pass"
    once = roundtrip.exactly_once(trip)
    assert once.verdict == "fail" and "lost between w0..w1 and w1..w2" in once.evidence


def test_page_boundaries_passes_and_says_how_many_pages_the_window_had():
    trip = _trip([_pages(IDS, 5)], _pages(IDS, 5))
    verdict = roundtrip.page_boundaries(trip)
    assert verdict.verdict == "pass"
    assert "12 of the run's bounces on 3 pages of 5 in" in verdict.evidence
    assert "none lost at its 2 page boundaries" in verdict.evidence
    assert roundtrip.exactly_once(trip).verdict == "pass"


@pytest.mark.parametrize(
    ("paging", "why"),
    [
        ([["other"]], "none of the run's bounces is in"),
        ([IDS], "all 12 of the run's bounces in"),
        (None, "was not read"),
    ],
    ids=["not-ours", "one-page", "not-read"],
)
def test_page_boundaries_is_skipped_when_no_boundary_can_be_judged(paging, why):
    verdict = roundtrip.page_boundaries(_trip([[IDS]], paging))
    assert verdict.verdict == "skip" and why in verdict.evidence
