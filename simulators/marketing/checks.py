"""Invariants of Marketing's status pages (docs/spec.md §2.1, §4), as pure checks that explain
themselves.

Each function returns the reasons a page or a window breaks the contract — an empty list when it
is fine — so the poller can report every violation and carry on instead of crashing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from smsbounce import contracts

RESPONSE = "status-response"


def page_problems(requested: int, document: Any) -> list[str]:
    """Why one page answer breaks the ``status-response`` contract or does not echo the page.

    The echo is checked apart from the schema so that ``"page": 0`` (a number) is named plainly.
    """
    problems = contracts.problems(RESPONSE, document)
    reasons = [f"contract {RESPONSE}: {reason}" for reason in problems]
    if isinstance(document, dict) and "page" in document:
        echoed = document["page"]
        if echoed != str(requested):
            reasons.append(
                f"page is echoed as {echoed!r} ({type(echoed).__name__}), "
                f"expected the string {str(requested)!r}"
            )
    return reasons


def window_problems(pages: list[dict]) -> list[str]:
    """Why a window's pages, in the order fetched (0, 1, …), break the paging invariants.

    ``lastPage`` must be false on every page but the last (a true in the middle would have made a
    real Marketing stop early); a non-last page is full, so it is never empty and all non-last
    pages hold the same number of items; a messageId appears at most once in one window.
    """
    reasons = []
    for number, page in enumerate(pages[:-1]):
        if page.get("lastPage") is not False:
            reasons.append(f"page {number}: lastPage is {page.get('lastPage')!r} before the end")
        if not page.get("status"):
            reasons.append(f"page {number}: empty, but lastPage is false")
    sizes = {len(page.get("status", [])) for page in pages[:-1]}
    if len(sizes) > 1:
        reasons.append(f"pages before the last differ in size: {sorted(sizes)}")
    ids = Counter(item.get("messageId") for page in pages for item in _items(page))
    for message_id, count in sorted(ids.items(), key=lambda pair: str(pair[0])):
        if count > 1:
            reasons.append(f"messageId {message_id!r} is served {count} times in one window")
    return reasons


def past_end_problems(number: int, document: Any) -> list[str]:
    """Why the page after the last is not what docs/spec.md §4 promises: empty, with ``lastPage:
    true``.

    Marketing never asks for it; the poller does, to catch a ``lastPage: true`` that came early.
    """
    reasons = page_problems(number, document)
    if isinstance(document, dict):
        if document.get("status"):
            count = len(document["status"])
            reasons.append(
                f"page {number} after the last page holds {count} items: lastPage came too early"
            )
        if document.get("lastPage") is not True:
            reasons.append(
                f"page {number} after the last page has lastPage {document.get('lastPage')!r}"
            )
    return reasons


def _items(page: dict) -> list[dict]:
    items = page.get("status")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
