"""The set test (Jepsen style): reports with duplicates and malformed ones, a provider that
retries every non-2xx, PostgreSQL killed with ``-m immediate`` in the middle; afterwards every
acknowledged bounce is served exactly once through Marketing's windows (docs/spec.md §4)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from tests.fault.helpers import (
    Marketing,
    Provider,
    Verdict,
    assert_503_answers_are_well_formed,
    buffer_env,
    make_reports,
    verdict,
)

pytestmark = pytest.mark.fault

# 3,000 durable commits take ~5 s on two cores; with the outage and the last settle window the
# test stays near 20 s. SMSBOUNCE_FAULT_REPORTS=10000 runs the full size.
REPORTS = int(os.environ.get("SMSBOUNCE_FAULT_REPORTS", "3000"))
OUTAGE_S = 2.0
DEADLINE_S = 120


def crash_in_the_middle(
    stop: Callable[[], None], start: Callable[[], None], provider: Provider, after: int, outage
) -> None:
    """Once ``after`` reports are acknowledged: ``stop()`` the database (or the pooler in front
    of it), keep it down, ``start()`` it again."""
    deadline = time.monotonic() + 60
    while provider.acknowledged < after and time.monotonic() < deadline:
        time.sleep(0.01)
    stop()
    down = time.monotonic()  # from here on no commit is possible
    time.sleep(OUTAGE_S)
    up = time.monotonic()  # before the restart begins: nothing may have been acknowledged
    start()
    outage.extend([down, up])


def run_set_test(pg, servers, name: str, stop=None, start=None) -> Verdict:
    """The set test; the fault is ``pg.crash()`` and ``pg.start()`` unless ``stop``/``start``
    say otherwise (a PgBouncer restart)."""
    reports = make_reports(REPORTS, prefix=name)
    provider = Provider([s.url for s in servers], deadline=time.monotonic() + DEADLINE_S)
    marketing = Marketing(servers)
    outage: list[float] = []
    fault = threading.Thread(
        target=crash_in_the_middle,
        args=(stop or pg.crash, start or pg.start, provider, len(reports) // 3, outage),
    )
    fault.start()
    started = time.monotonic()
    deliveries = provider.deliver_all(reports)
    fault.join(timeout=90)
    elapsed = time.monotonic() - started
    last_ack = time.time()
    served = marketing.finish(until=last_ack + 3 + 1)  # settle lag 3 s, whole seconds

    result = verdict(deliveries, served, outage=tuple(outage))
    print(
        result.summary(name)
        + f" windows={marketing.windows} failed_window_reads={marketing.failed_reads}"
        + f" seconds={elapsed:.1f}"
    )
    result.assert_holds()
    assert len(outage) == 2, "the database was never restarted"
    assert result.statuses[503] > 0, "the outage hit no request: nothing was tested"
    assert set(result.statuses) <= {200, 400, 503}, result.statuses
    assert_503_answers_are_well_formed(deliveries)
    return result


def test_set_survives_a_postgres_crash(own_pg, own_pg_url, serve):
    buffer = serve(buffer_env(own_pg_url, workers=2))
    run_set_test(own_pg, [buffer], "one-instance")


def test_two_instances_sharing_postgres_hold_the_set(own_pg, own_pg_url, serve):
    """How users scale out: two buffers, no state of their own, one database."""
    first = serve(buffer_env(own_pg_url, workers=2))
    second = serve(buffer_env(own_pg_url, workers=2))
    run_set_test(own_pg, [first, second], "two-instances")
