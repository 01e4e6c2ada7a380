"""Every report format of the simulator → the buffer's profile of the same name (SQLite and
PostgreSQL) → the bounces Marketing would read, equal to the simulator's ground truth.

The simulator builds each provider's callbacks from the provider's documentation without
importing the buffer; these tests are where the two must agree. The default scenario's faults
are on: duplicates, swapped pairs, late and dropped reports, and failed tries that are retried.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from smsbounce.simulators.di.scenario import load_scenario
from tests.simulators.di import helpers as di_sim_helpers
from tests.simulators.di.helpers import control, send, send_body, settle
from tests.simulators.di.test_e2e import served_bounces

MESSAGES = 60
SEED = 3
TOKEN = "twilio-auth-token-for-tests"


def report_path(profile: str) -> str:
    return f"/api/v1/providers/{profile}/report"


def run(sim, buffer, profile: str, messages: int = MESSAGES) -> tuple[dict, list[dict]]:
    for n in range(messages):
        response = send(sim, send_body([f"+49151{n:08d}"], reply=buffer.url + report_path(profile)))
        assert response.status_code == 200
    summary = settle(sim)
    assert summary["profile"] == profile
    reports = summary["reports"]
    assert (reports["lost"], reports["pending"], reports["retrying"]) == (0, 0, 0), summary
    return summary, control(sim, "messages")["messages"]


def expected_bounces(messages: list[dict]) -> dict[str, dict]:
    return {m["order_id"]: m["expected_bounce"] for m in messages if m["expected_bounce"]}


@pytest.mark.parametrize("profile", ["di", "vonage", "infobip", "sinch", "kannel", "jasmin"])
def test_served_bounces_equal_the_ground_truth(buffer_server, start_sim, profile):
    sim = start_sim(load_scenario(), seed=SEED, profile=profile)
    summary, messages = run(sim, buffer_server, profile)
    reports = summary["reports"]
    assert reports["duplicates"] and reports["late"] and reports["dropped"], summary
    assert summary["swapped_messages"], summary
    expected = expected_bounces(messages)
    assert {b["type"] for b in expected.values()} == {"Temporary", "Permanent"}
    assert served_bounces(buffer_server) == expected


def test_kannel_soft_bounces_are_expired_receipts_served_temporary(buffer_server, start_sim):
    scenario = dataclasses.replace(load_scenario(), outcomes=(("0xDBF3", 1.0),), rules=())
    sim = start_sim(scenario, seed=SEED, profile="kannel")
    summary, messages = run(sim, buffer_server, "kannel", messages=5)
    soft = [r for m in messages for r in m["reports"] if r["scenario_code"] == "0xDBF3"]
    assert soft and all((r["status"], r["type"]) == ("type=2", "Temporary") for r in soft)
    expected = expected_bounces(messages)
    assert {b["type"] for b in expected.values()} == {"Temporary"} and len(expected) == 5
    assert served_bounces(buffer_server) == expected


def test_infobip_batches_reports_into_one_request(buffer_server, start_sim):
    sim = start_sim(load_scenario(), seed=SEED, profile="infobip", batch=20)
    _, messages = run(sim, buffer_server, "infobip")
    attempts = control(sim, "reports")["attempts"]
    assert max(a["batch"] for a in attempts) > 1, "some reports should share a request"
    assert served_bounces(buffer_server) == expected_bounces(messages)


def stamp(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(microsecond=0, tzinfo=None)


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_twilio_bounces_equal_the_ground_truth(start_buffer, buffer_settings, start_sim, signed):
    settings = buffer_settings
    sim_fields = {}
    if signed:
        settings = dataclasses.replace(buffer_settings, twilio_auth_token=TOKEN)
        sim_fields["twilio_auth_token"] = TOKEN
    buffer = start_buffer(settings)
    sim = start_sim(load_scenario(), seed=SEED, profile="twilio", **sim_fields)
    _, messages = run(sim, buffer, "twilio")
    attempts = control(sim, "reports")["attempts"]
    assert all(a["answer"] == 200 for a in attempts), attempts  # signatures were accepted

    # undelivered callbacks carry RawDlrDoneDate (to the minute) and must match exactly; failed
    # ones carry no time, so the buffer stamps their arrival, which the simulator knows to the
    # span of the acknowledged try.
    expected = expected_bounces(messages)
    served = served_bounces(buffer)
    assert served.keys() == expected.keys()
    for order_id, bounce in expected.items():
        item = served[order_id]
        assert {**item, "timestamp": None} == {**bounce, "timestamp": None}
        if item["statusText"].startswith("undelivered"):
            assert item["timestamp"] == bounce["timestamp"]
            continue
        arrived = datetime.strptime(item["timestamp"], "%Y%m%d%H%M%S")
        spans = [
            (stamp(a["sent_at"]), stamp(a["at"]))
            for a in attempts
            if a["order_id"] == order_id and a["result"] == "acknowledged"
        ]
        assert any(start <= arrived <= end for start, end in spans)


def test_twilio_signature_over_another_url_is_refused_and_retried(
    start_buffer, buffer_settings, start_sim
):
    buffer = start_buffer(dataclasses.replace(buffer_settings, twilio_auth_token=TOKEN))
    sim = start_sim(
        di_sim_helpers.quiet_scenario(outcomes=(("0x4503", 1.0),)),
        profile="twilio",
        twilio_auth_token="another-token",
    )
    send(sim, send_body(reply=buffer.url + report_path("twilio")))
    settle(sim)
    attempts = control(sim, "reports")["attempts"]
    assert [a["answer"] for a in attempts] == [403, 403, 403]
    assert attempts[-1]["result"] == "lost"
    assert served_bounces(buffer) == {}
    [message] = control(sim, "messages")["messages"]
    assert message["expected_bounce"] is None  # nothing acknowledged, nothing owed
