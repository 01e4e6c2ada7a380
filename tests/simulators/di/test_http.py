"""The DI simulator over real HTTP: send API, reports to a real receiver, faults, control API."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

from smsbounce import contracts
from smsbounce.simulators.di.ini import parse_answer
from smsbounce.simulators.di.scenario import load_scenario
from tests.simulators.di.helpers import AUTH, WAIT, control, quiet_scenario, send, send_body, settle

# The fixtures live with the helpers (tests/conftest.py is shared by every package's tests).

# -- send API ------------------------------------------------------------------------------------


def test_send_answers_order_ids_and_records_every_recipient(start_sim):
    sim = start_sim()
    first = send(sim, send_body(["+4915112345678", "+4917012345678"], text="Hi = you"))
    second = send(sim, send_body(["+4915100000000"]))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["Content-Type"].startswith("text/html")
    ids = [parse_answer(r.text)["ORDERID"] for r in (first, second)]
    assert ids == ["1000", "1001"]
    messages = control(sim, "messages")["messages"]
    assert [(m["order_id"], m["position"], m["recipient"]) for m in messages] == [
        ("1000", 1, "+4915112345678"),
        ("1000", 2, "+4917012345678"),
        ("1001", 1, "+4915100000000"),
    ]
    assert messages[0]["text"] == "Hi = you"
    assert all(m["settled"] and not m["callback"] for m in messages)  # no reports asked for


@pytest.mark.parametrize(
    "configured, auth, account, status",
    [
        pytest.param({}, None, "acme", 401, id="no-auth-header-even-when-open"),
        pytest.param({}, ("anyone", "anything"), "acme", 200, id="open-accepts-any"),
        pytest.param({"user": "acme", "password": "pw"}, AUTH, "acme", 200, id="right"),
        pytest.param({"user": "acme", "password": "pw"}, ("acme", "no"), "acme", 401, id="pw"),
        pytest.param({"user": "acme", "password": "pw"}, AUTH, "other", 401, id="account"),
    ],
)
def test_authentication_600F(start_sim, configured, auth, account, status):
    sim = start_sim(**configured)
    response = send(sim, send_body(), auth=auth, account=account)
    assert response.status_code == status
    if status == 401:
        assert parse_answer(response.text)["ERROR"] == "600F"
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert control(sim, "summary")["refused"] == {"600F": 1}


def test_body_errors_and_unknown_paths(start_sim):
    sim = start_sim()
    response = send(sim, send_body(text=""))
    assert response.status_code == 400
    assert parse_answer(response.text)["ERROR"] == "6017"
    wrong = requests.post(f"{sim.url}/cmn/acme/other.sms", data=send_body(), auth=AUTH, timeout=5)
    assert wrong.status_code == 404
    assert control(sim, "summary")["refused"] == {"6017": 1}


def test_unavailable_platform_8000(start_sim):
    sim = start_sim(quiet_scenario(faults_send_unavailable=1.0))
    response = send(sim, send_body())
    assert response.status_code == 503
    assert parse_answer(response.text)["ERROR"] == "8000"
    summary = control(sim, "summary")
    assert (summary["orders"], summary["refused"], summary["messages"]) == (0, {"8000": 1}, 0)


# -- reports on the wire -------------------------------------------------------------------------


def test_article_quirks_reach_the_receiver_raw(start_sim, start_receiver):
    receiver = start_receiver()
    sim = start_sim(
        quiet_scenario(outcomes=(("0x4503", 1.0),), quirks_raw_plus=1.0, quirks_quoted_status=1.0)
    )
    send(sim, send_body(["+49123456789"], reply=receiver.url + "?token=abcdefghijklmnop"))
    (call,) = receiver.wait_for(1)
    raw = call["raw"]
    assert raw.startswith("token=abcdefghijklmnop&orderid=1000&time=")
    assert "&msisdn=+49123456789&status='0x4503%20Message%201%20of%20the%20order%201000" in raw
    assert raw.endswith("destination%20of%20+49123456789%20is%20out%20of%20coverage'")
    params = call["params"]
    assert params["msisdn"] == " 49123456789"  # what URL decoding does to a raw +
    contracts.validate("di-report", params)


def test_reports_follow_the_plan_in_order_and_validate(start_sim, start_receiver):
    receiver = start_receiver()
    scenario = quiet_scenario(outcomes=(("0xDBF3>0xDB65", 1.0),), intermediate=(("0x450E", 1.0),))
    sim = start_sim(scenario)
    send(sim, send_body(["+4915112345678"], reply=receiver.url))
    calls = receiver.wait_for(3)
    assert [c["params"]["status"][:6] for c in calls] == ["0x450E", "0xDBF3", "0xDB65"]
    for call in calls:
        contracts.validate("di-report", call["params"])
        assert call["params"]["msisdn"] == "+4915112345678"  # escaped: the + survives
    settle(sim)
    (message,) = control(sim, "messages")["messages"]
    assert message["settled"] and message["acknowledged"] == 3
    assert message["expected_bounce"]["statusCode"] == "0xDB65"
    assert message["expected_bounce"]["type"] == "Permanent"


def test_duplicates_arrive_twice_and_are_counted(start_sim, start_receiver):
    receiver = start_receiver()
    sim = start_sim(quiet_scenario(outcomes=(("0x4524", 1.0),), faults_duplicate=1.0))
    send(sim, send_body(reply=receiver.url))
    first, second = receiver.wait_for(2)
    assert first["raw"] == second["raw"]
    summary = settle(sim)
    assert summary["reports"]["duplicates"] == 1
    assert summary["reports"]["acknowledged"] == 2


def test_out_of_order_pair_sends_the_newer_event_first(start_sim, start_receiver):
    receiver = start_receiver()
    scenario = quiet_scenario(
        outcomes=(("0xDBF3>0xDB05", 1.0),), timing_temporary_gap=60.0, faults_out_of_order=1.0
    )
    sim = start_sim(scenario)
    # The swapped final report is due at once; the temporary one after temporary_gap. Keep that
    # gap out of the test by waiting for the first report only, then checking the plan.
    send(sim, send_body(reply=receiver.url))
    (first,) = receiver.wait_for(1)
    assert first["params"]["status"].startswith("0xDB05")
    (message,) = control(sim, "messages")["messages"]
    assert message["swapped"]
    assert [r["status_code"] for r in message["reports"]] == ["0xDB05", "0xDBF3"]
    assert message["reports"][0]["event_time"] > message["reports"][1]["event_time"]


def test_late_report_carries_an_old_event_time(start_sim, start_receiver):
    receiver = start_receiver()
    scenario = quiet_scenario(
        faults_late_probability=1.0, faults_late_min_age=3600.0, faults_late_max_age=3600.0
    )
    sim = start_sim(scenario)
    send(sim, send_body(reply=receiver.url))
    (call,) = receiver.wait_for(1)
    event = datetime.strptime(
        call["params"]["date"] + call["params"]["time"], "%d%m%Y%H%M%S"
    ).replace(tzinfo=timezone.utc)
    age = datetime.now(timezone.utc) - event
    assert timedelta(minutes=59) < age < timedelta(minutes=61)
    assert settle(sim)["reports"]["late"] == 1


def test_dropped_report_is_never_sent_but_counted(start_sim, start_receiver):
    receiver = start_receiver()
    sim = start_sim(quiet_scenario(outcomes=(("0xDB99", 1.0),), faults_drop=1.0))
    send(sim, send_body(reply=receiver.url))
    summary = settle(sim)
    assert receiver.calls == []
    assert summary["reports"]["dropped"] == 1
    (message,) = control(sim, "messages")["messages"]
    assert (message["dropped"], message["settled"], message["expected_bounce"]) == (1, True, None)
    assert control(sim, "reports")["attempts"] == []


def test_retries_until_acknowledged(start_sim, start_receiver):
    receiver = start_receiver(lambda number, params: 503 if number <= 2 else 200)
    sim = start_sim(quiet_scenario(outcomes=(("0x4503", 1.0),)))
    send(sim, send_body(reply=receiver.url))
    settle(sim)
    attempts = control(sim, "reports")["attempts"]
    assert [(a["attempt"], a["answer"], a["result"]) for a in attempts] == [
        (1, 503, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "acknowledged"),
    ]
    (message,) = control(sim, "messages")["messages"]
    assert message["reports"][0]["attempts"] == 3
    assert message["expected_bounce"]["statusCode"] == "0x4503"


def test_report_lost_after_the_last_retry(start_sim, start_receiver):
    receiver = start_receiver(lambda number, params: 500)
    sim = start_sim(quiet_scenario(outcomes=(("0x4503", 1.0),), retry_delays=(0.05, 0.05)))
    send(sim, send_body(reply=receiver.url))
    summary = settle(sim)
    assert len(receiver.calls) == 3  # one try and two retries
    assert (summary["reports"]["lost"], summary["attempts"]) == (1, 3)
    (message,) = control(sim, "messages")["messages"]
    assert (message["lost"], message["expected_bounce"]) == (1, None)


def test_timeouts_and_refused_connections_are_failed_tries(start_sim, start_receiver):
    release = threading.Event()
    receiver = start_receiver(lambda number, params: 200 if release.wait(WAIT) else 200)
    closed = start_receiver()
    closed.stop()  # nothing listens on its port any more
    sim = start_sim(quiet_scenario(retry_delays=(), retry_timeout=0.2))
    try:
        send(sim, send_body(["+4915112345678"], reply=receiver.url))
        send(sim, send_body(["+4915112345679"], reply=closed.url))
        summary = settle(sim)
    finally:
        release.set()
    assert summary["reports"]["lost"] == 2
    errors = sorted(a["error"].split(":")[0] for a in control(sim, "reports")["attempts"])
    assert errors == ["ConnectionError", "ReadTimeout"]


# -- control API and determinism -----------------------------------------------------------------


def test_summary_wait_parameter(start_sim):
    sim = start_sim()
    response = requests.get(f"{sim.url}/_sim/summary", params={"wait": "soon"}, timeout=5)
    assert response.status_code == 400
    assert "wait" in response.json()["error"]
    assert control(sim, "summary", wait=0)["idle"] is True


def test_same_seed_same_outcomes(start_sim):
    def outcomes(sim):
        for n in range(20):
            send(sim, send_body([f"+49151{n:08d}", f"+49170{n:08d}"]))
        return [
            (m["order_id"], m["outcome"], [r["status"] for r in m["reports"]])
            for m in control(sim, "messages")["messages"]
        ]

    scenario = load_scenario()
    first = outcomes(start_sim(scenario, seed=7))
    assert first == outcomes(start_sim(scenario, seed=7))
    assert first != outcomes(start_sim(scenario, seed=8))
