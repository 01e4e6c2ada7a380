"""The status page's picture: reports per hour over the last day, stacked by what became of them,
as inline SVG drawn on the server (no script, nothing fetched: the page's CSP stays strict)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

HOURS = 24
WIDTH, HEIGHT, BOTTOM, LEFT = 760, 180, 22, 40

# Each outcome word (``verdicts.Verdict.counted``) drawn in one of these, bottom first.
GROUPS = (
    ("hard bounces stored", "#b42318", ("stored:Permanent",)),
    ("soft bounces stored", "#f79009", ("stored:Temporary",)),
    ("quarantined", "#7a5af8", ("quarantined:Permanent", "quarantined:Temporary")),
    (
        "acknowledged (delivered, in progress)",
        "#12b76a",
        ("ignored:success", "ignored:intermediate"),
    ),
    ("ignored (duplicate, stale)", "#98a2b3", ("ignored:duplicate", "ignored:stale")),
    ("rejected", "#475467", ()),  # every rejected:* word
)


@dataclass(frozen=True)
class Legend:
    label: str
    colour: str
    total: int


def _group_of(outcome: str) -> int:
    for index, (_, _, words) in enumerate(GROUPS):
        if outcome in words:
            return index
    return len(GROUPS) - 1


def hourly(counts: Mapping[tuple[int, str], int], now_hour: int) -> list[list[int]]:
    """Per hour of the last ``HOURS`` (oldest first), the reports of each group."""
    bars = [[0] * len(GROUPS) for _ in range(HOURS)]
    for (hour, outcome), n in counts.items():
        slot = hour - (now_hour - HOURS + 1)
        if 0 <= slot < HOURS:
            bars[slot][_group_of(outcome)] += n
    return bars


def legend(bars: list[list[int]]) -> list[Legend]:
    return [
        Legend(label, colour, sum(bar[i] for bar in bars))
        for i, (label, colour, _) in enumerate(GROUPS)
    ]


def svg(bars: list[list[int]], now_hour: int) -> str:
    """The chart; every value in it is a number or a fixed word of this module."""
    top = max((sum(bar) for bar in bars), default=0) or 1
    plot = HEIGHT - BOTTOM
    step = (WIDTH - LEFT) / HOURS
    parts = [
        f'<svg id="ingest-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="Reports per hour, last 24 hours">',
        f'<text x="{LEFT - 6}" y="10" text-anchor="end" font-size="11" fill="#5b6b7b">{top}</text>',
        f'<text x="{LEFT - 6}" y="{plot}" text-anchor="end" font-size="11" fill="#5b6b7b">0</text>',
        f'<line x1="{LEFT}" y1="{plot}" x2="{WIDTH}" y2="{plot}" stroke="#c9d2dc"/>',
    ]
    for slot, bar in enumerate(bars):
        x = LEFT + slot * step + 2
        y = plot
        hour = (now_hour - HOURS + 1 + slot) % 24
        for index, n in enumerate(bar):
            if not n:
                continue
            height = n / top * (plot - 8)
            y -= height
            label, colour, _ = GROUPS[index]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step - 4:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>{hour:02d}:00 UTC: {n} {escape(label)}</title></rect>'
            )
        if slot % 3 == 0:
            parts.append(
                f'<text x="{x + (step - 4) / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                f'font-size="11" fill="#5b6b7b">{hour:02d}:00</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
