"""Bounces become Marketing interactions: hard for ``Permanent``, soft for ``Temporary`` (pure).

The reason Marketing records is the bounce's ``statusText``; ``statusCode`` is not processed by
Marketing (docs/spec.md §2.1) but kept here so a reconciliation can compare it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

HARD, SOFT = "hard", "soft"
BOUNCE_KINDS = {"Permanent": HARD, "Temporary": SOFT}


@dataclass(frozen=True)
class Interaction:
    message_id: str
    recipient: str
    bounce: str  # hard / soft
    reason: str
    status_code: str
    type: str  # as served: Permanent / Temporary
    timestamp: str  # the provider's event time, UTC YYYYMMDDhhmmss
    window: str  # the poll window that served it, "start-end"
    page: int

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def state(self) -> tuple[str, str, str, str]:
        """What identifies one served state of a message: the same state served again is a
        duplicate, a different one (e.g. soft, later hard) a legitimate update."""
        return (self.message_id, self.type, self.status_code, self.timestamp)


def to_interaction(item: dict, window: str, page: int) -> Interaction:
    """One status item (already checked against the contract) as an interaction."""
    return Interaction(
        message_id=item["messageId"],
        recipient=item["recipient"],
        bounce=BOUNCE_KINDS[item["type"]],
        reason=item["statusText"],
        status_code=item["statusCode"],
        type=item["type"],
        timestamp=item["timestamp"],
        window=window,
        page=page,
    )
