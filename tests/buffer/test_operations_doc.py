"""docs/operations.md names every schema migration and every metric the buffer serves: declared
once in code, documented by a test (STYLE.md, habit 17)."""

from __future__ import annotations

import re
from pathlib import Path

from smsbounce.buffer import migrations
from smsbounce.buffer.metrics import Metrics

OPERATIONS = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()


def _section(title: str) -> str:
    return OPERATIONS.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_migration_is_in_the_table():
    rows = re.findall(r"^\| (\d+) \|", _section("Schema migrations"), re.MULTILINE)
    assert [int(v) for v in rows] == [m.version for m in migrations.MIGRATIONS]


def test_every_served_metric_is_in_the_table():
    served = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in Metrics().registry.collect()
    }
    documented = set(re.findall(r"^\| `(smsbounce_\w+)` \|", _section("Metrics"), re.MULTILINE))
    assert documented == served
