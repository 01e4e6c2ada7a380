"""Where a missing bounce of the burst fell: at a page boundary, at a window boundary, or inside a
page. Pure: over what the walks served and the order the burst was sent in.

The burst's bounces are sent one after the other, once each, so an endpoint that orders a window
by arrival (docs/spec.md §4: ingest time, then messageId) serves them in sending order. A bounce
missing between the last served one of page k and the first of page k+1 was lost at that page
boundary, a paging defect (``page-boundaries``); one missing between two windows, or among the
items of one page, is ``exactly-once``'s. When the served order is not the sending order,
nothing can be placed and every missing bounce is ``exactly-once``'s.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from .walk import Walk

PAGE, WINDOW, INSIDE = "page boundary", "window boundary", "inside"


@dataclass(frozen=True)
class Place:
    """``kind`` is PAGE, WINDOW or INSIDE; ``window`` indexes the walks; ``pages`` are the pages
    of the served bounces on either side (one page for INSIDE); ``windows`` for WINDOW."""

    kind: str
    window: int = 0
    pages: tuple[int, int] = (0, 0)
    windows: tuple[int, int] = (0, 0)


def places(walks: list[Walk], order: list[str], missing: set[str]) -> dict[str, Place]:
    """For each id in ``missing`` that ``order`` (the burst, in sending order) holds and that lies
    between two served ones, where it fell. ``walks`` are read in order, one stream."""
    index = {message_id: n for n, message_id in enumerate(order)}
    served: list[tuple[int, int, int]] = []  # (position in order, walk, page), first occurrences
    seen = set()
    for number, walk in enumerate(walks):
        for page, item in walk.bounces():
            message_id = item.get("messageId")
            if message_id in index and message_id not in seen:
                seen.add(message_id)
                served.append((index[message_id], number, page))
    positions = [position for position, _, _ in served]
    if any(a >= b for a, b in zip(positions, positions[1:], strict=False)):
        return {}  # not served in sending order: nothing can be placed
    found = {}
    for message_id in missing:
        if message_id not in index:
            continue
        at = bisect.bisect(positions, index[message_id])
        if at == 0 or at == len(served):
            continue  # before the first or after the last served one: no boundary around it
        (_, window_a, page_a), (_, window_b, page_b) = served[at - 1], served[at]
        if window_a != window_b:
            found[message_id] = Place(WINDOW, windows=(window_a, window_b))
        elif page_a != page_b:
            found[message_id] = Place(PAGE, window_a, (page_a, page_b))
        else:
            found[message_id] = Place(INSIDE, window_a, (page_a, page_a))
    return found
