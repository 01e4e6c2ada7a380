"""Map kept raw reports again: the quarantine's, or stored bounces' (``smsbounce replay``).

An integrator who fixed a mapping recovers the bounces it could not read; one who plans a
mapping change tries it on last week's real traffic first (``dry_run``). Each entry is parsed
by the current profile of its provider — or by a profile file given for the run, which replaces
the built-in of the same name — exactly as if it arrived now, signatures aside (it was
authenticated when it arrived).

What is written: a quarantined report — a bounce with a field that could not be read, or a
report that could not be mapped at all — that now maps to a bounce is stored (the usual ranked
upsert) and released; one that is now not a bounce at all is released. An acknowledged report
kept while the operator keeps every report is stored and released when it is a bounce now, and
kept otherwise, for the next mapping to try. A stored bounce whose
served fields change is rewritten with a fresh ingest time, so Marketing's next poll gets the
correction. A stored bounce the new mapping would not store (no bounce any more, or held) is
reported and left as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .intake import Intake
from .keeping import ACKNOWLEDGED
from .providers import Profile
from .raw_requests import UnreadableRecord, request_from
from .reports import Report, Result, to_status_item

SERVED_FIELDS = ("recipient", "statusCode", "statusText", "type", "timestamp")

# What became of an entry.
STORED, RELEASED, HELD, STILL_ACKNOWLEDGED, CHANGED, UNCHANGED, KEPT, UNREADABLE = (
    "stored",  # a kept report that now maps to a bounce
    "released",  # a quarantined report that is not a bounce under this mapping
    "still quarantined",
    "still acknowledged",  # an acknowledged report kept for replay: kept for the next one
    "changed",
    "unchanged",
    "left as stored",  # a stored bounce the new mapping would not store
    "cannot be mapped again",
)


@dataclass(frozen=True)
class Replayed:
    source: str  # "quarantine #7" or "stored"
    provider: str
    message_id: str
    verdict: str
    detail: str = ""
    report: Report | None = None  # what would be (or was) written
    entry_id: int | None = None


def replay_quarantine(entries, profiles: Mapping[str, Profile]) -> list[Replayed]:
    """What the current mapping makes of each kept entry (nothing is written)."""
    done = []
    for entry in entries:
        acknowledged = entry.type == ACKNOWLEDGED
        source = f"{'kept' if acknowledged else 'quarantine'} #{entry.id}"
        base = dict(provider=entry.provider, message_id=entry.message_id, entry_id=entry.id)
        verdict, problem = _map(entry.raw_request, entry.message_id, profiles.get(entry.provider))
        if problem:
            done.append(Replayed(source, verdict=UNREADABLE, detail=problem, **base))
        elif acknowledged and verdict.result is not Result.STORED:
            detail = f"not stored under this mapping ({verdict.reason})"
            done.append(Replayed(source, verdict=STILL_ACKNOWLEDGED, detail=detail, **base))
        elif verdict.result is Result.QUARANTINED:
            done.append(Replayed(source, verdict=HELD, detail=verdict.report.reason, **base))
        elif verdict.result is Result.REJECTED:
            detail = f"rejected: {verdict.error}"
            done.append(Replayed(source, verdict=HELD, detail=detail, **base))
        elif verdict.result is Result.STORED:
            report = verdict.report
            base["message_id"] = report.message_id  # an unmapped entry may have had none
            done.append(
                Replayed(source, verdict=STORED, detail=_json(report), report=report, **base)
            )
        else:
            detail = f"not a bounce under this mapping ({verdict.report.outcome.value})"
            done.append(Replayed(source, verdict=RELEASED, detail=detail, **base))
    return done


def replay_stored(rows, profiles: Mapping[str, Profile]) -> list[Replayed]:
    """What the current mapping makes of each stored bounce (nothing is written)."""
    done = []
    for row in rows:
        base = dict(provider=row.provider, message_id=row.message_id)
        verdict, problem = _map(row.raw_report, row.message_id, profiles.get(row.provider))
        if problem:
            done.append(Replayed("stored", verdict=UNREADABLE, detail=problem, **base))
            continue
        if verdict.result in (Result.QUARANTINED, Result.REJECTED):
            why = (
                verdict.report.reason
                if verdict.result is Result.QUARANTINED
                else f"rejected: {verdict.error}"
            )
            detail = f"would not be stored now: {why}"
            done.append(Replayed("stored", verdict=KEPT, detail=detail, **base))
            continue
        item = verdict.report
        if verdict.result is not Result.STORED:
            detail = f"would not be a bounce now ({item.outcome.value})"
            done.append(Replayed("stored", verdict=KEPT, detail=detail, **base))
            continue
        if item.arrival_time:
            # The report carries no event time: its stored one is the best there is.
            item = replace(item, timestamp=row.timestamp)
        before, after = to_status_item(row), to_status_item(item)
        changes = [
            f"{k} {before[k]!r} -> {after[k]!r}" for k in SERVED_FIELDS if before[k] != after[k]
        ]
        if changes:
            detail = "; ".join(changes)
            done.append(Replayed("stored", verdict=CHANGED, detail=detail, report=item, **base))
        else:
            done.append(Replayed("stored", verdict=UNCHANGED, **base))
    return done


def apply(store, replayed: list[Replayed], raw_of: Mapping[tuple[str, str], str | None]) -> None:
    """Write what ``replay_*`` found: store or rewrite bounces, release quarantined entries.
    ``raw_of`` maps (source kind, message id or entry id) to the raw record to keep."""
    released = []
    for done in replayed:
        if done.verdict == STORED:
            store.save(done.report, provider=done.provider, raw=raw_of[("q", done.entry_id)])
            released.append(done.entry_id)
        elif done.verdict == RELEASED:
            released.append(done.entry_id)
        elif done.verdict == CHANGED:
            raw = raw_of[("s", done.message_id)]
            store.replace(done.report, provider=done.provider, raw=raw)
    store.quarantine.release(released)


# Through the same door as a live request; no signature is checked again (the report was
# authenticated when it arrived) and nothing is written until ``apply``.
_DOOR = Intake(check_signatures=False)


def _map(raw: str | None, message_id: str, profile: Profile | None):
    """(the verdict on ``message_id``'s report, None) or (None, why it cannot be mapped)."""
    if profile is None:
        return None, "no profile of that name is loaded"
    try:
        taken = _DOOR.take(profile, request_from(raw, profile))
    except UnreadableRecord as exc:
        return None, str(exc)
    for verdict in taken.verdicts:
        if verdict.message_id == message_id:
            return verdict, None
    if len(taken.verdicts) == 1:
        return taken.verdicts[0], None  # e.g. rejected before its message id was read
    return None, "the record holds no report for this message id"


def _json(report: Report) -> str:
    return json.dumps(to_status_item(report))
