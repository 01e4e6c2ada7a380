"""Ingest: /set with unique reports against /healthz, same server, same workers, same run."""

from __future__ import annotations

import uuid

from . import load
from .databases import count_rows
from .rss import RssSampler
from .server import Buffer

TARGET_RATIO = 0.6
TARGET_P99_MS = 50.0
P99_CONNECTIONS = 8  # the p99 target is for 8 connections


def measure(url: str, workers: int, duration: float, connections: int) -> dict:
    run_id = uuid.uuid4().hex[:8]
    with Buffer(url, workers) as buffer:
        # Warm-up: imports, pooled connections, the database's caches; not measured.
        load.run(buffer.url, "healthz", run_id + "w", 1, connections)
        load.run(buffer.url, "set", run_id + "w", 1, connections)
        with RssSampler(buffer) as rss:
            trivial = load.run(buffer.url, "healthz", run_id, duration, connections)
            ingest = load.run(buffer.url, "set", run_id, duration, connections)
            at_8 = (
                ingest
                if connections == P99_CONNECTIONS
                else load.run(buffer.url, "set", run_id + "c8", duration, P99_CONNECTIONS)
            )
    stored = count_rows(url)
    phases = [trivial, ingest] + ([] if at_8 is ingest else [at_8])
    return {
        "per_s": round(ingest["per_s"], 1),
        "trivial_per_s": round(trivial["per_s"], 1),
        "ingest_vs_trivial": round(ingest["per_s"] / trivial["per_s"], 3),
        "p50_ms": round(ingest["p50_ms"], 2),
        "p99_ms": round(ingest["p99_ms"], 2),
        "p99_8c_ms": round(at_8["p99_ms"], 2),
        "per_s_8c": round(at_8["per_s"], 1),
        "trivial_p50_ms": round(trivial["p50_ms"], 2),
        "trivial_p99_ms": round(trivial["p99_ms"], 2),
        "rss_mb": round(rss.peak_mb, 1),
        "rss_growth_mb": round(rss.growth_mb, 1),
        "requests": ingest["requests"],
        "non2xx": sum(phase["non2xx"] for phase in phases),
        "errors": sum(phase["errors"] for phase in phases),
        "stored_rows": stored,
        "workers": workers,
        "connections": connections,
        "duration_s": duration,
        "generator": ingest["generator"],
        "target_met": ingest["per_s"] / trivial["per_s"] >= TARGET_RATIO,
        "p99_target_met": at_8["p99_ms"] <= TARGET_P99_MS,
    }
