"""Marketing's poll windows: contiguous, half-open ``[start, end)``, whole UTC seconds (pure).

Marketing asks for ``startTimeUTC``/``endTimeUTC`` as ``YYYYMMDDhhmmss``; each window starts where
the previous one ended, so no instant is asked for twice or skipped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from smsbounce.contracts.wire import parse_utc

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_stamp(text: str) -> datetime:
    """The UTC instant of a ``YYYYMMDDhhmmss`` text; ValueError names the text."""
    if not re.fullmatch(r"\d{14}", text):
        raise ValueError(f"{text!r} is not a UTC time as YYYYMMDDhhmmss")
    return parse_utc(text)


def whole_second(moment: datetime) -> datetime:
    """``moment`` truncated to the second: the window's bounds cannot say more."""
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def next_window(last_end: datetime, now: datetime) -> tuple[datetime, datetime] | None:
    """The window after one that ended at ``last_end``: ``[last_end, now)`` with ``now`` cut to
    whole seconds; None while that would be empty (less than a second has passed)."""
    end = whole_second(now)
    if end <= last_end:
        return None
    return (last_end, end)


def parse_since(text: str, now: datetime) -> datetime:
    """Where polling starts: ``now``, a UTC ``YYYYMMDDhhmmss``, or an age such as ``90s``,
    ``15m``, ``2h``, ``1d`` before ``now``. ValueError explains the accepted forms."""
    text = text.strip()
    if text == "now":
        return whole_second(now)
    duration = _DURATION.fullmatch(text)
    if duration:
        seconds = int(duration.group(1)) * _UNITS[duration.group(2)]
        return whole_second(now - timedelta(seconds=seconds))
    try:
        return parse_stamp(text)
    except ValueError:
        raise ValueError(
            f"--since must be 'now', a UTC time as YYYYMMDDhhmmss or an age such as 15m, "
            f"2h or 1d; not {text!r}"
        ) from None
