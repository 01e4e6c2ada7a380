"""How much an unauthenticated endpoint may make the buffer keep beyond bounces (pure).

Two kinds of quarantine entries exist only for ``smsbounce replay``: reports a profile could
not map (``unmapped``, docs/spec.md §4) and, while an operator keeps every report
(``SMSBOUNCE_KEEP_ALL_REPORTS_UNTIL``), acknowledged ones (``acknowledged``). Each kind holds at
most ``Bounds.entries`` entries and ``Bounds.bytes`` bytes of raw records, so nobody can fill the
disk through them. Raw records are ASCII JSON: their length is their size in bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .reports import UNMAPPED, Report, Result


@dataclass(frozen=True)
class Usage:
    """What one kind of entry holds now: entries and bytes of raw records."""

    entries: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Bounds:
    """The most one kind of entry may hold (``SMSBOUNCE_UNMAPPED_MAX_ENTRIES``, ``_MAX_BYTES``)."""

    entries: int
    bytes: int

    def fitting(self, used: Usage, records: Sequence[str]) -> int:
        """How many of ``records``, taken in order, still fit beside ``used``."""
        entries, size = used.entries, used.bytes
        for taken, record in enumerate(records):
            entries, size = entries + 1, size + len(record)
            if entries > self.entries or size > self.bytes:
                return taken
        return len(records)

    def beyond(self, used: Usage, records: Sequence[str]) -> str | None:
        """Why ``records`` do not all fit beside ``used``; None when they do."""
        if self.fitting(used, records) == len(records):
            return None
        size = sum(len(r) for r in records)
        return (
            f"{used.entries} entries of {used.bytes} bytes are kept; {len(records)} more of "
            f"{size} bytes would pass the bound of {self.entries} entries or {self.bytes} bytes"
        )


UNBOUNDED = Bounds(entries=2**62, bytes=2**62)


# Acknowledged reports kept on the operator's word (``SMSBOUNCE_KEEP_ALL_REPORTS_UNTIL``): a
# quarantine type of their own, never counted as held (they were answered as acknowledged).
ACKNOWLEDGED = Result.ACKNOWLEDGED.value
# The quarantine types an unauthenticated endpoint could fill, each bounded on its own.
BOUNDED = (UNMAPPED, ACKNOWLEDGED)


@dataclass(frozen=True)
class KeptReport:
    """An acknowledged report kept for replay, as the quarantine stores it."""

    message_id: str
    reason: str
    type: str = ACKNOWLEDGED
    parameter: str = ""

    @classmethod
    def of(cls, report: Report) -> KeptReport:
        return cls(report.message_id, f"{report.outcome.value}: kept while all reports are kept")
