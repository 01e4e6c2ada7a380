"""The integration recipes, taken from the documentation itself, so a wrong recipe fails a test.

A recipe is a fenced block in docs/providers.md right after a marker line
``<!-- recipe: NAME -->``; its text is used verbatim, placeholders substituted by the test.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "providers.md"
_RECIPE = re.compile(r"<!-- recipe: (?P<name>[\w-]+) -->\s*```[^\n]*\n(?P<text>.*?)\n```", re.S)


def recipes(document: Path = DOCUMENT) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _RECIPE.finditer(document.read_text(encoding="utf-8")):
        name = match["name"]
        if name in found:
            raise AssertionError(f"{document.name}: recipe {name!r} is given twice")
        found[name] = match["text"]
    return found


def recipe(name: str) -> str:
    everything = recipes()
    if name not in everything:
        raise AssertionError(f"{DOCUMENT.name} has no recipe {name!r} (has {sorted(everything)})")
    return everything[name]
