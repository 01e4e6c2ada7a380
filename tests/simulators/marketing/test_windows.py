"""Marketing's poll windows: contiguous, half-open, whole UTC seconds (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smsbounce.contracts.wire import format_utc as stamp
from smsbounce.simulators.marketing.windows import next_window, parse_since, parse_stamp

T = datetime(2026, 3, 14, 15, 54, 23, tzinfo=timezone.utc)
CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("last_end", "now", "expected"),
    [
        (T, T + timedelta(seconds=10), (T, T + timedelta(seconds=10))),
        (T, T + timedelta(seconds=10, microseconds=999_999), (T, T + timedelta(seconds=10))),
        (T, T + timedelta(microseconds=999_999), None),
        (T, T, None),
        (T, T - timedelta(seconds=5), None),
        (T, (T + timedelta(seconds=1)).astimezone(CET), (T, T + timedelta(seconds=1))),
    ],
    ids=["ten-seconds", "cut-to-whole-seconds", "under-a-second", "no-time", "clock-back", "zone"],
)
def test_next_window(last_end, now, expected):
    assert next_window(last_end, now) == expected


def test_consecutive_windows_are_contiguous_and_cover_every_second():
    last_end, covered = T, []
    moments = [T + timedelta(seconds=s) for s in (0.3, 1.2, 1.4, 2.0, 7.5, 8.2, 10.0)]
    for now in moments:
        window = next_window(last_end, now)
        if window is not None:
            covered.append(window)
            last_end = window[1]
    assert covered[0][0] == T
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))
    assert all(start < end for start, end in covered)
    assert covered[-1][1] == T + timedelta(seconds=10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", T),
        ("90s", T - timedelta(seconds=90)),
        ("15m", T - timedelta(minutes=15)),
        ("2h", T - timedelta(hours=2)),
        ("1d", T - timedelta(days=1)),
        ("20260314000000", datetime(2026, 3, 14, tzinfo=timezone.utc)),
    ],
    ids=["now", "seconds", "minutes", "hours", "days", "utc-stamp"],
)
def test_parse_since(text, expected):
    assert parse_since(text, T + timedelta(microseconds=400)) == expected


@pytest.mark.parametrize("text", ["yesterday", "15", "-5m", "2026-03-14", "20261399000000", ""])
def test_parse_since_explains_the_forms(text):
    with pytest.raises(ValueError, match="'now', a UTC time as YYYYMMDDhhmmss or an age"):
        parse_since(text, T)


def test_stamp_is_utc_and_round_trips():
    assert stamp(T.astimezone(CET)) == "20260314155423"
    assert parse_stamp(stamp(T)) == T
