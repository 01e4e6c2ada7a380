"""`smsbounce verify --provider NAME` for every built-in profile: our buffer passes every check on
SQLite and PostgreSQL (Twilio signed too), and receivers that get a provider wrong fail exactly
the check that says so."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from smsbounce.simulators.di.formats import FORMATS
from smsbounce.simulators.verify import ingest, providers
from smsbounce.simulators.verify import plan as roundtrip_plan
from smsbounce.simulators.verify.reports import table
from smsbounce.simulators.verify.wire import Exchange
from tests.simulators.verify.helpers import (
    SMALL_VOLUME,
    failed_checks,
    verdicts,
    verify,
    verify_cli,
)

STATUS = "/api/v1/notifications/get"
TWILIO_TOKEN = "twilio-auth-token-for-verify"
NOW = datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc)


def report_url(server, provider: str) -> str:
    return f"{server.url}/api/v1/providers/{provider}/report"


def _assert_all_passed(result):
    assert failed_checks(result) == [], table(result)
    assert set(verdicts(result).values()) == {"pass"}, table(result)


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_our_buffer_passes_every_check_in_each_providers_format(buffer_server, provider):
    result = verify(
        buffer_server.url + STATUS,
        buffer_server.auth,
        report_url(buffer_server, provider),
        provider=provider,
        volume=SMALL_VOLUME,
    )
    _assert_all_passed(result)
    evidence = {v.check: v.evidence for v in result.verdicts}
    assert "temporary failure" not in evidence["field-mapping"]
    if provider == "infobip":  # the burst went in batches
        assert "requests)" in evidence["ingest-accepted"], evidence["ingest-accepted"]
    if provider == "jasmin":
        assert "ACK/Jasmin" in evidence["ingest-accepted"]


def test_signed_twilio_reports_pass_a_buffer_that_checks_signatures(
    tmp_path, start_buffer, buffer_settings
):
    token = "Verify-token-0123456789"
    settings = dataclasses.replace(
        buffer_settings, twilio_auth_token=TWILIO_TOKEN, ingest_tokens=(token,)
    )
    server = start_buffer(settings)
    args = ["--status-url", server.url + STATUS, "--settle-lag", "0", "--timeout", "10"]
    args += ["--user", server.auth[0], "--password", server.auth[1]]
    args += ["--ingest-url", report_url(server, "twilio") + "/" + token, "--provider", "twilio"]
    args += ["--volume", str(SMALL_VOLUME)]
    code, out, err, document = verify_cli(
        tmp_path, *args, env={"SMSBOUNCE_VERIFY_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    )
    assert code == 0, out
    assert document["provider"] == "twilio" and document["counts"]["fail"] == 0
    assert token not in out + err and TWILIO_TOKEN not in out + err


def test_unsigned_twilio_reports_fail_ingest_accepted_with_a_hint(start_buffer, buffer_settings):
    server = start_buffer(dataclasses.replace(buffer_settings, twilio_auth_token=TWILIO_TOKEN))
    result = verify(
        server.url + STATUS,
        server.auth,
        report_url(server, "twilio"),
        provider="twilio",
        twilio_auth_token="not-the-token",
        volume=SMALL_VOLUME,
    )
    assert failed_checks(result) == ["ingest-accepted"], table(result)
    evidence = next(v.evidence for v in result.verdicts if v.check == "ingest-accepted")
    assert "HTTP 403" in evidence and "--twilio-auth-token" in evidence


# -- the plans ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_each_plan_has_every_case_and_short_tagged_ids(provider):
    prefix = roundtrip_plan.run_prefix()
    plan = providers.plan(provider, prefix, NOW)
    keys = {e.key for e in plan.expectations.values()}
    expected = {"permanent", "success", "progress", "duplicate", "weaker later", "late", "burst"}
    expected |= {"temporary", "upgrade", "out-of-order"}  # every provider has soft bounces
    assert keys == expected
    assert all(r.message_id.startswith(prefix) and len(r.message_id) <= 64 for r in plan.reports)
    assert sum(e.key == "burst" for e in plan.expectations.values()) > 100
    types = {e.record["type"] for e in plan.expectations.values() if e.record}
    assert types == {"Permanent", "Temporary"}
    upgrade = plan.expectations.get(prefix + "up")
    assert upgrade is None or upgrade.record["type"] == "Permanent"


def test_infobip_sends_the_burst_in_batches_and_the_rest_alone():
    plan = providers.plan("infobip", "sbv000000-", NOW)
    sizes = [len(send.reports) for send in ingest.sends(plan, "http://x/report")]
    assert max(sizes) == providers.INFOBIP_BATCH and sum(sizes) == len(plan.reports)
    assert sizes.count(1) == len(plan.reports) - roundtrip_plan.BURST


def test_a_batch_answer_refuses_the_reports_it_names():
    plan = providers.plan("infobip", "sbv000000-", NOW)
    body = b'{"results": [{"result": "stored"}, {"error": {"status": 400, "message": "bad to"}}]}'
    answer = Exchange("report", 200, "application/json", body)
    assert ingest.refusal(plan, answer, 0, 2) is None
    assert "report 2 of 2 in its request refused" in ingest.refusal(plan, answer, 1, 2)


def test_jasmin_needs_its_ack_body():
    plan = providers.plan("jasmin", "sbv000000-", NOW)
    assert ingest.refusal(plan, Exchange("r", 200, "text/plain", b"ACK/Jasmin")) is None
    why = ingest.refusal(plan, Exchange("r", 200, "application/json", b'{"result": "stored"}'))
    assert "not ACK/Jasmin: Jasmin would retry it" in why


def test_twilio_token_only_with_twilio(tmp_path):
    code, _, err, _ = verify_cli(
        tmp_path, "--status-url", "http://x", "--twilio-auth-token", "t", "--provider", "vonage"
    )
    assert code == 2 and "--twilio-auth-token needs --provider twilio" in err


def test_every_format_is_a_provider_choice():
    assert set(FORMATS) == {"di", *providers.PROVIDERS}
