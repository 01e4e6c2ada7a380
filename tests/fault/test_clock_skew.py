"""Two ``smsbounce serve`` instances on one PostgreSQL, the second one's clock a minute behind
(libfaketime, Debian package ``faketime``): reports round-robin, Marketing polling contiguous
windows in real time. Every acknowledged bounce is served exactly once, because the database
stamps ingest times (docs/spec.md §4, one clock); the lagging instance says how far off it is."""

from __future__ import annotations

import os
import time

import pytest
import requests

from tests.fault.helpers import (
    Marketing,
    Provider,
    buffer_env,
    make_reports,
    skewed_env,
    unavailable,
    verdict,
)

pytestmark = pytest.mark.fault

BEHIND_S = 60
REPORTS = int(os.environ.get("SMSBOUNCE_FAULT_SKEW_REPORTS", "2000"))
SETTLE_LAG_S = 3  # buffer_env's


def test_an_instance_a_minute_behind_loses_nothing(own_pg_url, serve):
    try:
        lagging_env = skewed_env(-BEHIND_S)
    except FileNotFoundError as exc:
        unavailable(f"the clock skew test needs libfaketime: {exc}")
    on_time = serve(buffer_env(own_pg_url, workers=2))
    lagging = serve(buffer_env(own_pg_url, workers=2, **lagging_env))
    servers = [on_time, lagging]

    reports = make_reports(REPORTS, prefix="skew")
    provider = Provider([s.url for s in servers], deadline=time.monotonic() + 60)
    marketing = Marketing(servers)
    started = time.monotonic()
    deliveries = provider.deliver_all(reports)
    elapsed = time.monotonic() - started
    served = marketing.finish(until=time.time() + SETTLE_LAG_S + 1)

    result = verdict(deliveries, served)
    print(
        result.summary(f"skew-{BEHIND_S}s")
        + f" served={len(served)} windows={marketing.windows} seconds={elapsed:.1f}"
    )
    result.assert_holds()
    assert set(result.statuses) == {200, 400}, result.statuses

    # The skew was real, and the lagging instance tells the operator.
    offsets = [requests.get(s.url + "/readyz", timeout=30).json() for s in servers]
    assert abs(offsets[0]["clockOffsetSeconds"]) < 1, offsets
    assert BEHIND_S - 2 < offsets[1]["clockOffsetSeconds"] < BEHIND_S + 2, offsets
    warned = [line for line in lagging.output if "s behind the database's" in line]
    assert warned and '"level": "warning"' in warned[0], "".join(lagging.output[-20:])
    assert not any("s behind the database's" in line for line in on_time.output)
