"""The reconciliation as a table people read at a glance (pure: returns text)."""

from __future__ import annotations

from .reconcile import Reconciliation

# (key in Reconciliation.totals, label, explanation); failures last, where the eye lands.
ROWS = (
    ("sent", "sent", "messages Marketing sent through CPI"),
    ("rejected", "  rejected at send", "refused by the provider (e.g. DI 6019)"),
    ("failed", "  send failed", "packages that got no answer"),
    ("delivered", "delivered", "provider's final outcome"),
    ("soft", "soft bounces", "final outcome Temporary (a soft bounce never resolved)"),
    ("hard", "hard bounces", "final outcome Permanent"),
    ("intermediate", "no final report", "only progress reports planned"),
    ("owed", "bounces owed", "messages whose bounce the buffer acknowledged"),
    ("served", "bounces served", "interactions booked (soft then hard counts twice)"),
    ("again", "  served again", "a stronger or newer report replaced a bounce already served"),
    ("dropped", "dropped by the provider", "reports never sent or given up after the last retry"),
    ("lost", "lost in the middle", "acknowledged by the buffer, never served  [failure]"),
    ("twice", "served twice", "same bounce state served again, or went backwards  [failure]"),
    ("unexpected", "unexpected", "served, but not a bounce that was acknowledged  [failure]"),
    ("unsettled", "unsettled", "the provider still had reports to send"),
)
OPTIONAL = ("rejected", "failed", "again", "intermediate", "unsettled")


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1 window``, ``2 windows``: a count and its noun, agreeing."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def table(reconciliation: Reconciliation) -> str:
    """One line per total, with what it means; rows that are zero and optional are left out."""
    totals = reconciliation.totals
    width = max(len(label) for _, label, _ in ROWS)
    digits = max(len(str(value)) for value in totals.values())
    lines = []
    for key, label, meaning in ROWS:
        if key in OPTIONAL and not totals[key]:
            continue
        lines.append(f"  {label:<{width}}  {totals[key]:>{digits}}   {meaning}")
    return "\n".join(lines)


def verdict(reconciliation: Reconciliation) -> str:
    totals = reconciliation.totals
    if reconciliation.ok:
        return "perfect reconciliation: nothing the buffer acknowledged was lost or served twice"
    return (
        f"RECONCILIATION FAILED: {totals['lost']} lost in the middle, {totals['twice']} served "
        f"twice, {totals['unexpected']} unexpected"
    )
