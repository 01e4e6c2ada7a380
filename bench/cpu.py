"""CPU time spent by a server and by its PostgreSQL backends, from /proc (Linux, local server).

On a shared machine the rate a server reaches moves with whatever else runs; the CPU it spends
per request moves far less, so it is reported next to the rates.
"""

from __future__ import annotations

import os
from pathlib import Path

from .server import children

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """utime + stime of ``pid`` in seconds, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children(current)
    return found


def backends(admin, database: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving ``database`` (``admin``: a connection)."""
    with admin.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        return [row[0] for row in cursor.fetchall()]


def snapshot(pids: list[int]) -> dict[int, float]:
    values = {pid: process_cpu_s(pid) for pid in pids}
    return {pid: value for pid, value in values.items() if value is not None}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process new in ``after`` counts from zero."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())
