"""The paging rules of Marketing's status pages (docs/spec.md §2.1, §4), once, for every reader.

The rules are pure functions over the JSON pages of one window as read in order (page 0, 1, …):
``items``, ``echo_wrong``, ``flags`` (what ``lastPage`` said against what followed),
``occurrences``, ``unsteady`` (page sizes) and ``first_difference`` (one window read twice).
They return what they found as data; the Marketing simulator (the ``*_problems``
functions below, one reason per line) and ``smsbounce verify`` (its read-side verdicts) word it
for their readers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from smsbounce import contracts

RESPONSE = "status-response"


def items(document: Any) -> list[dict]:
    """The objects in a page's ``status`` list (none when the page is no such object)."""
    found = document.get("status") if isinstance(document, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def usable(document: Any) -> bool:
    """A JSON object whose ``status`` is a list: a page a walk can go on from."""
    return isinstance(document, dict) and isinstance(document.get("status"), list)


def echo_wrong(requested: int, document: Any) -> bool:
    """Whether the page echoes something other than the requested number as a string. A page
    without ``page`` is the contract's to report, not this rule's."""
    return isinstance(document, dict) and "page" in document and document["page"] != str(requested)


@dataclass(frozen=True)
class Flag:
    """What page ``page`` said in ``lastPage``, and what it should have said: whether the window
    goes on. ``held``: its items; ``following``: the items of the page read after it (None when
    that page was not read)."""

    page: int
    said: Any
    held: int
    following: int | None

    @property
    def expected(self) -> bool | None:
        """True when nothing follows; None when that cannot be known."""
        if not self.held:
            return True  # an empty window's page 0, or a page past the end
        return None if self.following is None else self.following == 0

    @property
    def right(self) -> bool:
        return isinstance(self.said, bool) and self.expected in (None, self.said)


def flags(pages: list[Any]) -> list[Flag]:
    """``lastPage`` judged page by page, up to the first page that is no object with a ``status``
    list. A page holding items must say false when the page after it holds items and true when
    it holds none; a page holding none must say true; a flag must be a boolean. A page whose
    successor was not read is judged on its type only."""
    judged = []
    for number, page in enumerate(pages):
        if not usable(page):
            break
        following = None
        if number + 1 < len(pages) and usable(pages[number + 1]):
            following = len(items(pages[number + 1]))
        judged.append(Flag(number, page.get("lastPage"), len(items(page)), following))
    return judged


def occurrences(pages: list[Any]) -> dict[str, list[int]]:
    """Per messageId (as text), the page of each of its items, in reading order."""
    found: dict[str, list[int]] = defaultdict(list)
    for number, page in enumerate(pages):
        for item in items(page):
            found[str(item.get("messageId"))].append(number)
    return dict(found)


def unsteady(sizes: list[int]) -> list[int]:
    """The pages breaking a steady page size (docs/spec.md §4: one page size), given how many
    items a window's pages hold, in order: every page but the last holds as many as page 0,
    the last no more."""
    last = len(sizes) - 1
    return [
        number
        for number, size in enumerate(sizes)
        if number and (size > sizes[0] if number == last else size != sizes[0])
    ]


def first_difference(first: list[Any], second: list[Any]) -> int | None:
    """The first page at which two reads of one window differ — its items, their order or its
    ``lastPage`` — or None when they agree page for page (docs/spec.md §4: stable pages)."""
    for number in range(max(len(first), len(second))):
        if number >= len(first) or number >= len(second):
            return number
        a, b = first[number], second[number]
        if (_flag(a), items(a)) != (_flag(b), items(b)):
            return number
    return None


def _flag(document: Any) -> Any:
    return document.get("lastPage") if isinstance(document, dict) else None


# --- the Marketing simulator's wording ---------------------------------------------------------


def page_problems(requested: int, document: Any) -> list[str]:
    """Why one page answer breaks the ``status-response`` contract or does not echo the page.

    The echo is checked apart from the schema so that ``"page": 0`` (a number) is named plainly.
    """
    problems = contracts.problems(RESPONSE, document)
    reasons = [f"contract {RESPONSE}: {reason}" for reason in problems]
    if echo_wrong(requested, document):
        echoed = document["page"]
        reasons.append(
            f"page is echoed as {echoed!r} ({type(echoed).__name__}), "
            f"expected the string {str(requested)!r}"
        )
    return reasons


def window_problems(pages: list[dict]) -> list[str]:
    """Why a window's pages, as Marketing read them (0, 1, … up to the first not saying
    ``lastPage: false``), break the paging rules.

    ``lastPage`` must be false on every page but the last (a true in the middle would have made a
    real Marketing stop early) and an empty page says true, so a page before the last is never
    empty; the pages before the last hold the same number of items (they are full); a messageId
    appears at most once in one window. Marketing reads on after a false, so a false followed by
    an empty last page costs it nothing and is not reported here (``verify`` reports it).
    """
    reasons = []
    for flag in flags(pages):
        if flag.page == len(pages) - 1 or flag.right:
            continue
        if not flag.held and flag.said is False:
            reasons.append(f"page {flag.page}: empty, but lastPage is false")
        elif flag.said is not False:
            reasons.append(f"page {flag.page}: lastPage is {flag.said!r} before the end")
    # Only the pages before Marketing's last are judged: nothing after them can be longer.
    before = [len(items(page)) for page in pages[:-1]]
    if unsteady([*before, 0]):
        reasons.append(f"pages before the last differ in size: {sorted(set(before))}")
    for message_id, where in sorted(occurrences(pages).items()):
        if len(where) > 1:
            reasons.append(f"messageId {message_id!r} is served {len(where)} times in one window")
    return reasons


def past_end_problems(number: int, document: Any) -> list[str]:
    """Why the page after the last is not what docs/spec.md §4 promises: empty, with ``lastPage:
    true``.

    Marketing never asks for it; the poller does, to catch a ``lastPage: true`` that came early.
    """
    reasons = page_problems(number, document)
    if isinstance(document, dict):
        held = items(document)
        if held:
            reasons.append(
                f"page {number} after the last page holds {len(held)} items: "
                "lastPage came too early"
            )
        # Whatever it holds, the page after the last says true, as an empty page does.
        said = document.get("lastPage")
        if not Flag(number, said, 0, None).right:
            reasons.append(f"page {number} after the last page has lastPage {said!r}")
    return reasons
