"""The operators' status page at ``/``: what the buffer did in the last hour and day, the latest
bounces (numbers masked), the ingest rate and the database's state. Server-rendered HTML from
``templates/status.tpl``, no script, no external asset."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from importlib.resources import files

from bottle import SimpleTemplate

from . import chart, migrations
from .codes import CodeCount
from .db import DatabaseUnavailable, is_sqlite
from .logs import mask_number, mask_numbers
from .verdicts import LABELS

HOUR_US = 3600 * 1_000_000
DAY_US = 24 * HOUR_US
LATEST_COUNT = 20
QUARANTINE_SHOWN = 10


@cache
def _template() -> SimpleTemplate:
    """Read on first use; ``{{…}}`` escapes HTML, so report text cannot inject markup."""
    return SimpleTemplate(
        (files("smsbounce.buffer") / "templates" / "status.tpl").read_text("utf-8")
    )


@dataclass
class StatusView:
    now: datetime
    database: str  # "SQLite" / "PostgreSQL"
    database_ok: bool
    database_detail: str
    retention: str = ""
    outcomes: list[tuple[str, int, int]] = field(default_factory=list)  # label, hour, day
    rate_hour: float = 0.0  # reports per minute
    rate_5min: float = 0.0
    chart: str = ""  # inline SVG
    legend: list[chart.Legend] = field(default_factory=list)
    polls: list[dict] = field(default_factory=list)
    codes: list[CodeCount] = field(default_factory=list)
    bounces: list[dict] = field(default_factory=list)
    quarantine_count: int = 0
    quarantined: list[dict] = field(default_factory=list)


def build(store, outcome_counts, retention_said: str = "", *, clock=time.time) -> StatusView:
    """Gather the page's facts; a database failure becomes the page's red line, not an error.

    The stored and quarantined counts come from the tables the bounce lists come from, so the
    page agrees with itself whatever the other workers have not written yet; the other
    outcomes (never stored) are what the workers counted, written every few seconds.
    """
    now = clock()
    minute = int(now // 60)
    view = StatusView(
        now=datetime.fromtimestamp(now, timezone.utc),
        database="SQLite" if is_sqlite(store.database) else "PostgreSQL",
        database_ok=False,
        database_detail="",
        retention=retention_said,
    )
    try:
        outcome_counts.flush()
        now_us = store.now_us()
        day = store.outcome_counts(minute - 24 * 60 + 1)
        hour = store.outcome_counts(minute - 60 + 1)
        recent = store.outcome_counts(minute - 5 + 1)
        for counts, since_us in ((day, now_us - DAY_US), (hour, now_us - HOUR_US)):
            _from_tables(counts, store, since_us)
        by_hour = store.outcome_counts_by_hour(minute - 24 * 60 + 1)
        polling = store.polls.now(now_us)
        codes = store.codes.seen(int(now // 3600) - 23)
        rows = store.latest(LATEST_COUNT)
        held = store.quarantine.entries(limit=QUARANTINE_SHOWN, held_only=True)
        view.quarantine_count = store.quarantine.count()
        version = migrations.current(store.database)
    except DatabaseUnavailable as exc:
        view.database_detail = f"unavailable: {exc}"
        return view
    view.database_ok = True
    view.database_detail = f"answering; schema version {version} of {migrations.LATEST}"
    keys = list(LABELS) + sorted(set(day) - set(LABELS))
    view.outcomes = [(LABELS.get(k, k), hour.get(k, 0), day.get(k, 0)) for k in keys]
    view.rate_hour = sum(hour.values()) / 60
    view.rate_5min = sum(recent.values()) / 5
    bars = chart.hourly(by_hour, int(now // 3600))
    view.chart, view.legend = chart.svg(bars, int(now // 3600)), chart.legend(bars)
    view.polls = [
        {
            **state.as_json(polling.now_us),
            "polledAt": _utc(state.polled_at_us),
            "readUntil": _utc(state.read_until_us),
        }
        for state in polling.states
    ]
    view.codes = codes
    view.bounces = [
        {
            "received": _utc(row.ingested_at),
            "messageId": row.message_id,
            "recipient": mask_number(row.recipient),
            "type": row.type or "",
            "statusCode": row.status_code,
            "statusText": mask_numbers(row.status_text),
        }
        for row in rows
    ]
    view.quarantined = [
        {
            "received": _utc(row.received_at),
            "provider": row.provider,
            "messageId": row.message_id,
            "type": row.type,
            "reason": mask_numbers(row.reason),
        }
        for row in held
    ]
    return view


def _from_tables(counts: dict[str, int], store, since_us: int) -> None:
    """Replace the stored and quarantined counts by what the tables hold since ``since_us``."""
    for key in [k for k in counts if k.startswith(("stored:", "quarantined:"))]:
        del counts[key]
    for kind, found in (
        ("stored", store.stored_since(since_us)),
        ("quarantined", store.quarantine.held_since(since_us)),
    ):
        for bounce_type, n in found.items():
            counts[f"{kind}:{bounce_type}"] = n


def _utc(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def render(view: StatusView) -> str:
    return _template().render(view=view)
