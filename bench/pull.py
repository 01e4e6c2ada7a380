"""Pull: page 0 and page 9,999 of one window holding 1,000,000 bounces, through /get."""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timezone

import requests

from smsbounce.contracts.wire import format_utc

from .databases import bulk_load
from .rss import RssSampler
from .server import Buffer

TARGET_RATIO = 2.0
PAGE_SIZE = 100
SETTLE_LAG_S = 30  # the buffer's default
STEP_US = 1000  # ingest times 1 ms apart: 1,000,000 bounces span 1,000 s


def _utc(seconds: int) -> str:
    return format_utc(datetime.fromtimestamp(seconds, tz=timezone.utc))


def load(url: str, count: int) -> tuple[str, str]:
    """Store ``count`` bounces; return the Marketing window (start, end) holding all of them."""
    first_s = int(time.time()) - 3600
    bulk_load(url, count, first_s * 1_000_000, STEP_US)
    span_s = count * STEP_US // 1_000_000 + 1
    # The buffer serves ingest times [start - lag, end - lag) for a window [start, end).
    return _utc(first_s + SETTLE_LAG_S), _utc(first_s + SETTLE_LAG_S + span_s)


def measure(
    url: str, window: tuple[str, str], count: int, workers: int, repeats: int, walk: int
) -> dict:
    deep = count // PAGE_SIZE - 1
    env = {"SMSBOUNCE_PAGE_SIZE": str(PAGE_SIZE), "SMSBOUNCE_SETTLE_LAG": str(SETTLE_LAG_S)}
    with Buffer(url, workers, env) as buffer, requests.Session() as session:

        def page(number: int, expect_last: bool | None) -> float:
            params = {"startTimeUTC": window[0], "endTimeUTC": window[1], "page": str(number)}
            started = time.perf_counter()
            response = session.get(
                buffer.url + "/api/v1/notifications/get",
                params=params,
                auth=buffer.auth,
                timeout=120,
            )
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            body = response.json()
            last = number == deep if expect_last is None else expect_last
            if len(body["status"]) != PAGE_SIZE or body["lastPage"] is not last:
                raise RuntimeError(
                    f"page {number}: {len(body['status'])} items, lastPage={body['lastPage']}"
                )
            return elapsed

        with RssSampler(buffer) as rss:
            deep_cold = page(deep, True)  # the very first request for the deep page
            for _ in range(2 * workers):  # warm every worker's pool and caches
                page(0, False)
                page(deep, True)
            # Marketing's own pattern: the last ``walk`` pages, one after the other.
            walked = [page(number, None) for number in range(deep - walk + 1, deep + 1)]
            first, deep_times = [], []
            for _ in range(repeats):  # alternate, so drifts hit both alike
                first.append(page(0, False))
                deep_times.append(page(deep, True))
    first_ms, deep_ms = statistics.median(first), statistics.median(deep_times)
    return {
        "rows": count,
        "deep_page": deep,
        "first_ms": round(first_ms, 2),
        "deep_ms": round(deep_ms, 2),
        "deep_vs_first": round(deep_ms / first_ms, 2),
        "deep_cold_ms": round(deep_cold, 2),
        "walk_pages": walk,
        "walk_ms": round(statistics.median(walked), 2),
        "rss_mb": round(rss.peak_mb, 1),
        "rss_growth_mb": round(rss.growth_mb, 1),
        "repeats": repeats,
        "workers": workers,
        "target_met": deep_ms / first_ms <= TARGET_RATIO,
    }
