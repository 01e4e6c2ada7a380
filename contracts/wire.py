"""Wire formats every part shares: Marketing's UTC timestamps and the status item's field
limits. The limits are read from ``status-response.schema.json``, so one file decides them."""

from __future__ import annotations

from datetime import datetime, timezone

from . import schema

UTC_STAMP = "%Y%m%d%H%M%S"  # startTimeUTC, endTimeUTC and every item's timestamp


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
    return datetime.strptime(text, UTC_STAMP).replace(tzinfo=timezone.utc)


def max_length(field: str) -> int:
    """The longest value of a status item's ``field`` (e.g. ``messageId``) Marketing is served."""
    return schema("status-response")["$defs"]["bounce"]["properties"][field]["maxLength"]


MESSAGE_ID_MAX = max_length("messageId")
RECIPIENT_MAX = max_length("recipient")
STATUS_CODE_MAX = max_length("statusCode")
STATUS_TEXT_MAX = max_length("statusText")
