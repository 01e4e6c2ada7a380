"""Wire formats every part shares: Marketing's UTC timestamps and the status item's field
limits. The limits are read from ``status-response.schema.json``, so one file decides them."""

from __future__ import annotations

import functools
from datetime import datetime, timezone

from . import schema

UTC_STAMP = "%Y%m%d%H%M%S"  # startTimeUTC, endTimeUTC and every item's timestamp


# Reports arriving together mostly share their second: each formatted once (equal times, the
# same instant, format alike).
@functools.lru_cache(maxsize=1024)
def format_utc(moment: datetime) -> str:
    """``YYYYMMDDhhmmss`` in UTC. An aware time is converted; a naive one is taken as UTC.

    Formatted by hand: ``strftime("%Y")`` does not pad years before 1000 on every platform.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    )


def parse_utc(text: str) -> datetime:
    """An aware UTC time from ``YYYYMMDDhhmmss``; ``ValueError`` for anything else."""
    if len(text) != 14 or not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r} is not YYYYMMDDhhmmss")
    # By position, not with strptime (15 µs): 14 digits split into UTC_STAMP only one way, and
    # datetime() refuses exactly what strptime refuses (month 13, 31 April, year 0000, …).
    try:
        return datetime(
            int(text[:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:]),
            tzinfo=timezone.utc,
        )
    except ValueError:
        pass
    # Refused: strptime says why, in the words callers have always shown.
    return datetime.strptime(text, UTC_STAMP).replace(tzinfo=timezone.utc)


def length_bounds(field: str) -> tuple[int, int]:
    """The shortest and longest value of a status item's ``field`` (e.g. ``messageId``)."""
    rule = schema("status-response")["$defs"]["bounce"]["properties"][field]
    return rule.get("minLength", 0), rule["maxLength"]


def max_length(field: str) -> int:
    """The longest value of a status item's ``field`` Marketing is served."""
    return length_bounds(field)[1]


MESSAGE_ID_MAX = max_length("messageId")
RECIPIENT_MAX = max_length("recipient")
STATUS_CODE_MAX = max_length("statusCode")
STATUS_TEXT_MAX = max_length("statusText")
