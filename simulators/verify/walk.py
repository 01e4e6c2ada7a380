"""What the checker saw when it paged through windows, and the small readers checks share.

The walk itself is Marketing's (``simulators.marketing.walk``) in its checker's form, and the
page readers are the paging rules' (``simulators.marketing.checks``), applied to exchanges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smsbounce.simulators.marketing import checks

from .wire import Exchange

JSON_MEDIA_TYPE = "application/json"


@dataclass
class Walk:
    """The pages of one window, in request order: ``pages[i]`` answered ``page=i``.

    The walk goes on until a page has no items, so it ends with the first page past the end (and,
    for an empty window, also page 1), whatever ``lastPage`` said: checks compare the two.
    ``window`` is ``(startTimeUTC, endTimeUTC)``; ``capped`` means the page limit stopped it.
    """

    window: tuple[str, str]
    pages: list[Exchange] = field(default_factory=list)
    capped: bool = False

    @property
    def name(self) -> str:
        return f"{self.window[0]}..{self.window[1]}"

    def bounces(self) -> list[tuple[int, dict]]:
        """Every item of every usable page as ``(page, item)``."""
        return [(number, item) for number, page in enumerate(self.pages) for item in items(page)]


def document(exchange: Exchange) -> dict | None:
    """The JSON object of a 200 answer, or None when there is no such thing."""
    if exchange.status != 200:
        return None
    body = exchange.document
    return body if isinstance(body, dict) else None


def items(exchange: Exchange) -> list[dict]:
    """The ``status`` list's objects of a 200 answer (empty when unusable)."""
    return checks.items(document(exchange))


def usable(exchange: Exchange) -> bool:
    """A 200 JSON object whose ``status`` is a list: a page the walk can go on from."""
    return checks.usable(document(exchange))


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def sizes(walk: Walk) -> list[int]:
    """Entries per page holding any, in order (a checker's walk ends at the first holding none)."""
    return [len(found) for found in (items(page) for page in walk.pages) if found]
