"""Scenario rules, seeded plans, report URLs and settings of the DI simulator, without HTTP."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from smsbounce.contracts.wire import format_utc as stamp
from smsbounce.simulators.di.callback import report_url
from smsbounce.simulators.di.formats import Stored
from smsbounce.simulators.di.scenario import (
    PERMANENT,
    Scenario,
    ScenarioError,
    load_scenario,
    plan_message,
    status_type,
)
from smsbounce.simulators.di.settings import Settings, SettingsError
from smsbounce.simulators.di.simulator import expected_bounce
from tests.simulators.di.helpers import quiet_scenario

NOW = datetime(2018, 3, 14, 15, 54, 23, tzinfo=timezone.utc)


def plan(scenario, recipient="+49123456789", seed="1/0/1", order_id="123456789", position=1):
    return plan_message(
        scenario,
        random.Random(seed),
        order_id=order_id,
        position=position,
        recipient=recipient,
        accepted_at=NOW,
    )


def codes(message_plan):
    return [r.code for r in message_plan.reports]


# -- loading -------------------------------------------------------------------------------------


def test_default_scenario_loads_and_covers_every_di_code():
    scenario = load_scenario()
    finals = {step for key, _ in scenario.outcomes for step in key.split(">")}
    assert set(PERMANENT) <= finals
    assert {"delivered", "0xDBF3"} <= finals


@pytest.mark.parametrize(
    "document, reason",
    [
        pytest.param({"outcomes": {"0xDB05>delivered": 1}}, "$.outcomes", id="non-temporary-step"),
        pytest.param({"outcomes": {"lost": 1}}, "$.outcomes", id="unknown-outcome"),
        pytest.param({"outcomes": {"delivered": 0}}, "weight above 0", id="zero-weights"),
        pytest.param({"faults": {"drop": 1.5}}, "$.faults.drop", id="probability-above-1"),
        pytest.param({"faults": {"dorp": 0.1}}, "dorp", id="typo-in-key"),
        pytest.param({"rules": [{"prefix": "+49"}]}, "outcomes", id="rule-without-outcomes"),
        pytest.param({"texts": {"0x4503": "{nope}"}}, "$.texts.0x4503", id="bad-placeholder"),
        pytest.param(
            {"faults": {"late": {"min_age": 10, "max_age": 5}}}, "min_age", id="late-ages"
        ),
        pytest.param({"retry": {"timeout": 0}}, "$.retry.timeout", id="zero-timeout"),
    ],
)
def test_bad_scenarios_are_refused_with_the_key(document, reason):
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_document(document)
    assert reason in str(caught.value)


def test_load_scenario_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ScenarioError, match="broken.json is not JSON"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.json")


def test_nested_keys_map_to_fields():
    scenario = Scenario.from_document(
        {
            "faults": {"late": {"probability": 0.5, "min_age": 60, "max_age": 120}},
            "retry": {"delays": [1, 2], "timeout": 3},
            "timing": {"temporary_gap": 4},
        }
    )
    assert (scenario.faults_late_probability, scenario.faults_late_min_age) == (0.5, 60)
    assert scenario.retry_delays == (1, 2)
    assert scenario.timing_temporary_gap == 4


# -- outcomes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipient, expected",
    [
        ("+4900000123", ["0x4503"]),  # first matching rule wins over the later, shorter one
        ("+4900099999", ["0xDB99"]),
        ("+4915112345678", ["0x451A"]),  # no rule: the default table
    ],
)
def test_rules_by_prefix(recipient, expected):
    scenario = Scenario.from_document(
        {
            "outcomes": {"delivered": 1},
            "rules": [
                {"prefix": "+4900000", "outcomes": {"0x4503": 1}},
                {"prefix": "+49000", "outcomes": {"0xDB99": 1}},
            ],
        }
    )
    assert codes(plan(scenario, recipient)) == expected


def test_temporary_then_final_reports_both_in_order_with_a_gap():
    scenario = Scenario.from_document(
        {"outcomes": {"0xDBF3>0xDB65": 1}, "timing": {"gap": 1, "temporary_gap": 30}}
    )
    message = plan(scenario)
    assert codes(message) == ["0xDBF3", "0xDB65"]
    assert (message.final_code, message.final_type) == ("0xDB65", "Permanent")
    first, final = message.reports
    assert final.offset - first.offset == 30
    assert final.event_time - first.event_time == timedelta(seconds=30)


def test_intermediate_reports_precede_the_outcome():
    scenario = quiet_scenario(intermediate=(("0x450E", 1.0), ("0x450A", 1.0)))
    assert codes(plan(scenario)) == ["0x450E", "0x450A", "0x451A"]


def test_same_seed_same_plan_other_seed_other_plans():
    scenario = load_scenario()
    assert plan(scenario, seed="7/3/1") == plan(scenario, seed="7/3/1")
    plans = {plan(scenario, seed=f"7/{n}/1") for n in range(50)}
    assert len(plans) > 40


def test_seeded_probabilities_follow_the_weights():
    scenario = Scenario.from_document({"outcomes": {"delivered": 3, "0x4503": 1}})
    finals = Counter(plan(scenario, seed=f"0/{n}/1").final_code for n in range(4000))
    assert 0.70 < finals["0x451A"] / 4000 < 0.80


@pytest.mark.parametrize(
    "code, kind",
    [("0x451A", "delivered"), ("0x450E", "intermediate"), ("0x450A", "intermediate")]
    + [("0xDBF3", "Temporary")]
    + [(code, "Permanent") for code in PERMANENT],
)
def test_status_type(code, kind):
    assert status_type(code) == kind


def test_status_text_is_the_articles():
    message = plan(quiet_scenario(outcomes=(("0x4503", 1.0),)), order_id="1636010434")
    assert message.reports[0].status == (
        "0x4503 Message 1 of the order 1636010434 at destination of +49123456789 is out of coverage"
    )


def test_scenario_texts_override_defaults():
    scenario = quiet_scenario(
        outcomes=(("0xDB78", 1.0),), texts=(("0xDB78", "{msisdn}: no credit ({code})"),)
    )
    assert plan(scenario).reports[0].status == "0xDB78 +49123456789: no credit (0xDB78)"


# -- faults and quirks in the plan --------------------------------------------------------------


def test_duplicate_follows_its_original():
    message = plan(quiet_scenario(faults_duplicate=1.0))
    original, copy = message.reports
    assert copy.duplicate and not original.duplicate
    assert (copy.status, copy.event_time) == (original.status, original.event_time)


def test_out_of_order_swaps_send_order_but_keeps_event_times():
    scenario = quiet_scenario(
        outcomes=(("0xDBF3>0xDB05", 1.0),), timing_temporary_gap=10.0, faults_out_of_order=1.0
    )
    message = plan(scenario)
    assert message.swapped
    assert codes(message) == ["0xDB05", "0xDBF3"]
    final, temporary = message.reports
    assert final.offset < temporary.offset  # sent first ...
    assert final.event_time > temporary.event_time  # ... although it happened later


def test_late_report_has_an_event_time_in_the_past():
    scenario = quiet_scenario(
        faults_late_probability=1.0, faults_late_min_age=3600, faults_late_max_age=7200
    )
    report = plan(scenario).reports[0]
    assert report.late
    assert timedelta(hours=1) <= NOW - report.event_time <= timedelta(hours=2)


def test_dropped_report_is_planned_but_marked():
    report = plan(quiet_scenario(faults_drop=1.0)).reports[0]
    assert report.dropped


@pytest.mark.parametrize(
    "quirk, status",
    [
        ({}, "0x451A Message 1 of the order 1 at destination of +491 has been delivered to the "
         "handset"),
        ({"quirks_quoted_status": 1.0}, "'0x451A Message 1 of the order 1 at destination of "
         "+491 has been delivered to the handset'"),
        ({"quirks_letter_o": 1.0}, "Ox451A Message 1 of the order 1 at destination of +491 "
         "has been delivered to the handset"),
        ({"quirks_uncoded_success": 1.0}, "Message 1 of the order 1 at destination of +491 has "
         "been delivered to the handset"),
    ],
    ids=["plain", "quoted", "letter-o", "uncoded-success"],
)  # fmt: skip
def test_status_quirks(quirk, status):
    report = plan(quiet_scenario(**quirk), recipient="+491", order_id="1").reports[0]
    assert report.status == status
    assert report.text.startswith("Message 1")  # the clean text, what the buffer should store


# -- expected bounce -----------------------------------------------------------------------------


def _stored(code, minute):
    kind = status_type(code)
    moment = NOW + timedelta(minutes=minute)
    return Stored(kind, code, f"text {code}", "+491", moment), stamp(moment)


@pytest.mark.parametrize(
    "acknowledged, expected",
    [
        ([], None),
        ([("0x450E", 0), ("0x451A", 1)], None),
        ([("0xDBF3", 0), ("0x451A", 1)], ("0xDBF3", 0)),  # success never replaces a bounce
        ([("0xDBF3", 0), ("0xDB65", 1)], ("0xDB65", 1)),
        ([("0xDB65", 1), ("0xDBF3", 0)], ("0xDB65", 1)),  # out of order: still the stronger one
        ([("0xDB05", 5), ("0xDBF3", 9)], ("0xDB05", 5)),  # Permanent beats a newer Temporary
        ([("0xDBF3", 1), ("0xDBF3", 3), ("0xDBF3", 2)], ("0xDBF3", 3)),  # ties: newest event
        ([("0x4503", 1), ("0xDB65", 1)], ("0x4503", 1)),  # same time: the first one stays
        ([("0x4503", 1), ("0xDB65", 2)], ("0xDB65", 2)),  # a newer one of the same type wins
    ],
)
def test_expected_bounce(acknowledged, expected):
    bounce = expected_bounce([_stored(code, minute) for code, minute in acknowledged])
    if expected is None:
        assert bounce is None
    else:
        code, minute = expected
        assert (bounce[0].code, bounce[1]) == (code, stamp(NOW + timedelta(minutes=minute)))


# -- report URL ----------------------------------------------------------------------------------

ARTICLE_STATUS = (
    "'0x4503 Message 1 of the order 1636010434 at destination of +49123456789 is out of coverage'"
)


@pytest.mark.parametrize(
    "address, raw_plus, expected_query",
    [
        pytest.param(
            "http://b/set",
            True,
            "orderid=123456789&time=155423&date=14032018&msisdn=+49123456789&status='0x4503%20"
            "Message%201%20of%20the%20order%201636010434%20at%20destination%20of%20+49123456789"
            "%20is%20out%20of%20coverage'",
            id="article-quirks-raw-plus-and-quotes",
        ),
        pytest.param(
            "http://b/set?token=abcdefghijklmnop",
            False,
            "token=abcdefghijklmnop&orderid=123456789&time=155423&date=14032018"
            "&msisdn=%2B49123456789&status=%270x4503%20Message%201%20of%20the%20order%20"
            "1636010434%20at%20destination%20of%20%2B49123456789%20is%20out%20of%20coverage%27",
            id="escaped-appended-to-existing-query",
        ),
    ],
)
def test_report_url(address, raw_plus, expected_query):
    url = report_url(
        address,
        order_id="123456789",
        msisdn="+49123456789",
        status=ARTICLE_STATUS,
        event_time=NOW,
        zone=ZoneInfo("UTC"),
        raw_plus=raw_plus,
    )
    assert urlsplit(url).query == expected_query


def test_report_url_date_and_time_in_the_configured_zone():
    url = report_url(
        "http://b/set?",
        order_id="1",
        msisdn="+491",
        status="x",
        event_time=NOW,
        zone=ZoneInfo("Europe/Berlin"),
    )
    params = dict(parse_qsl(urlsplit(url).query))
    assert (params["date"], params["time"]) == ("14032018", "165423")
    assert url.startswith("http://b/set?orderid=")


# -- settings ------------------------------------------------------------------------------------


def test_settings_from_env(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"outcomes": {"0x4503": 1}}), encoding="utf-8")
    settings = Settings.from_env(
        {
            "SMSBOUNCE_DI_USER": "acme",
            "SMSBOUNCE_DI_PASSWORD": "pw",
            "SMSBOUNCE_DI_SCENARIO": str(path),
            "SMSBOUNCE_DI_SEED": "42",
            "SMSBOUNCE_DI_PORT": "0",
            "SMSBOUNCE_DI_TIMEZONE": "Europe/Berlin",
            "SMSBOUNCE_DI_FIRST_ORDER_ID": "1634731244",
        }
    )
    assert (settings.user, settings.password, settings.seed, settings.port) == ("acme", "pw", 42, 0)
    assert settings.scenario.outcomes == (("0x4503", 1),)
    assert (settings.timezone, settings.first_order_id) == ("Europe/Berlin", 1634731244)
    assert Settings.from_env({}) == Settings(scenario=load_scenario())


@pytest.mark.parametrize(
    "environ, variable",
    [
        ({"SMSBOUNCE_DI_USER": "acme"}, "SMSBOUNCE_DI_PASSWORD"),
        ({"SMSBOUNCE_DI_PASSWORD": "pw"}, "SMSBOUNCE_DI_USER"),
        ({"SMSBOUNCE_DI_SEED": "x"}, "SMSBOUNCE_DI_SEED"),
        ({"SMSBOUNCE_DI_PORT": "70000"}, "SMSBOUNCE_DI_PORT"),
        ({"SMSBOUNCE_DI_TIMEZONE": "Mars/Base"}, "SMSBOUNCE_DI_TIMEZONE"),
        ({"SMSBOUNCE_DI_SCENARIO": "/nonexistent.json"}, "SMSBOUNCE_DI_SCENARIO"),
        ({"SMSBOUNCE_DI_WORKERS": "0"}, "SMSBOUNCE_DI_WORKERS"),
    ],
)
def test_settings_errors_name_the_variable(environ, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ)
