"""Each deliberately broken server makes verify fail on exactly its check, and only that one."""

from __future__ import annotations

import pytest

from smsbounce.simulators.verify import readside, roundtrip
from smsbounce.simulators.verify.reports import table
from tests.simulators.verify.broken_servers import (
    FAULTS,
    PASSWORD,
    PROVIDERS,
    USER,
    ReferenceServer,
)
from tests.simulators.verify.helpers import SMALL_VOLUME, failed_checks, verify

# fault of broken_servers.py → the one check it must fail
BROKEN = {
    "crash-on-empty-window": "answers-200",
    "text-plain": "content-type",
    "extra-item-field": "schema",
    "page-off-by-one": "page-echo",
    "last-page-always-true": "last-page",
    "empty-page-0-not-last": "last-page",
    "past-end-not-last": "past-end",
    "overlapping-pages": "no-repeats",
    "skip-at-boundary": "page-boundaries",
    "uneven-pages": "page-size",
    "order-changes-between-reads": "same-pages",
    "foreign-long-text": "item-fields",
    "crash-on-bad-page": "bad-parameters",
    "no-auth": "auth-required",
    "first-answer-slow": "latency",
    "case-sensitive-names": "ingest-accepted",
    "lose-plus": "field-mapping",
    "serve-successes": "successes-not-served",
    "ignore-window": "exactly-once",
    "last-write-wins": "stronger-status-wins",
}
# provider-specific fault → (the provider whose reports the server takes, the check it must fail)
PROVIDER_BROKEN = {
    "vonage-lose-plus": ("vonage", "field-mapping"),
    "jasmin-no-ack": ("jasmin", "ingest-accepted"),
    "jasmin-serve-successes": ("jasmin", "successes-not-served"),
    "infobip-first-of-batch": ("infobip", "exactly-once"),
}
ALL_CHECKS = [c.__name__.replace("_", "-") for c in readside.CHECKS + roundtrip.CHECKS]


def _verify(server: ReferenceServer):
    return verify(
        server.status_url,
        (USER, PASSWORD),
        server.ingest_url,
        max_latency=1.0,
        timeout=10.0,
        provider=server.provider,
        volume=SMALL_VOLUME,
    )


def test_every_check_has_a_broken_server_and_every_fault_a_check():
    assert set(BROKEN.values()) == set(ALL_CHECKS)
    assert set(BROKEN) | set(PROVIDER_BROKEN) == set(FAULTS)
    assert not set(BROKEN) & set(PROVIDER_BROKEN)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_reference_server_passes_every_check(provider):
    with ReferenceServer(provider=provider) as server:
        result = _verify(server)
    assert failed_checks(result) == [], table(result)
    assert {v.verdict for v in result.verdicts} == {"pass"}, table(result)


@pytest.mark.parametrize("fault, check", BROKEN.items(), ids=list(BROKEN))
def test_a_broken_server_fails_exactly_its_check(fault, check):
    with ReferenceServer(fault) as server:
        result = _verify(server)
    assert failed_checks(result) == [check], table(result)
    evidence = next(v.evidence for v in result.verdicts if v.check == check)
    assert evidence and "\n" not in evidence


@pytest.mark.parametrize(
    "fault, provider, check",
    [(fault, *where) for fault, where in PROVIDER_BROKEN.items()],
    ids=list(PROVIDER_BROKEN),
)
def test_a_receiver_that_gets_a_provider_wrong_fails_exactly_its_check(fault, provider, check):
    with ReferenceServer(fault, provider=provider) as server:
        result = _verify(server)
    assert failed_checks(result) == [check], table(result)
    evidence = next(v.evidence for v in result.verdicts if v.check == check)
    assert evidence and "\n" not in evidence
