"""Marketing's send client: packages of at most 1,000, answers checked against the contract."""

from __future__ import annotations

import json

import pytest
from bottle import HTTPResponse

from smsbounce import contracts
from smsbounce.simulators.marketing.client import (
    load_messages,
    make_messages,
    packages,
    send_messages,
)
from tests.simulators.marketing.helpers import MARKETING, SendRoute


@pytest.fixture
def route():
    started = []

    def start(reply=None) -> SendRoute:
        started.append(SendRoute(reply))
        return started[-1]

    yield start
    for r in started:
        r.server.stop()


def test_generated_messages_are_valid_distinct_and_seeded():
    messages = make_messages(1500, run="mc1", seed=7)
    for chunk in packages(messages):
        contracts.validate("marketing-send-request", {"version": "1", "messages": chunk})
    assert len({m["messageId"] for m in messages}) == 1500
    assert len({m["recipient"] for m in messages}) == 1500
    assert messages == make_messages(1500, run="mc1", seed=7)
    assert messages != make_messages(1500, run="mc1", seed=8)
    assert messages[0]["messageId"] == "mc1-000001"


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(1, [1]), (1000, [1000]), (1001, [1000, 1]), (2500, [1000, 1000, 500])],
)
def test_packages_hold_at_most_1000(count, sizes):
    assert [len(p) for p in packages(list(range(count)))] == sizes


def test_send_splits_into_packages_and_maps_ids(route):
    target = route()
    messages = make_messages(2500, run="mc", seed=1)
    messages[5]["recipient"] = "+4900123"
    outcome = send_messages(target.url, MARKETING, messages)
    assert [len(p["messages"]) for p in target.packages] == [1000, 1000, 500]
    assert len(outcome.accepted) == 2499
    assert outcome.accepted["mc-000001"] == "p000001"
    assert outcome.rejected == {"mc-000006": ("6019", "bad number")}
    assert outcome.failed == []
    assert len(outcome.mapping()) == 2500


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (lambda p: HTTPResponse("no", 401), "HTTP 401: no"),
        (lambda p: {"version": "1", "results": [{"messageId": "x"}]}, "breaks contract"),
        (lambda p: {"version": "1", "results": []}, "do not match the package's messages"),
        (lambda p: HTTPResponse("<html>", 200), "the answer is not JSON"),
    ],
    ids=["unauthorized", "contract", "not-one-to-one", "not-json"],
)
def test_a_package_without_a_usable_answer_is_recorded(route, reply, expected):
    target = route(reply)
    outcome = send_messages(target.url, MARKETING, make_messages(3, run="mc"))
    assert outcome.accepted == {} and outcome.rejected == {}
    [(ids, why)] = outcome.failed
    assert ids == ["mc-000001", "mc-000002", "mc-000003"]
    assert expected in why
    assert outcome.mapping()[0]["failure"] == why


def test_load_messages_from_json_and_from_numbers(tmp_path):
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("+4915112345678\n\n+4917012345678\n")
    loaded = load_messages(numbers, run="mc", sender="ACME")
    assert [(m["messageId"], m["recipient"], m["sender"]) for m in loaded] == [
        ("mc-000001", "+4915112345678", "ACME"),
        ("mc-000002", "+4917012345678", "ACME"),
    ]
    document = tmp_path / "messages.json"
    document.write_text(json.dumps({"messages": loaded}))
    assert load_messages(document, run="other") == loaded
    document.write_text(json.dumps(loaded))
    assert load_messages(document, run="other") == loaded


def test_load_messages_refuses_what_the_contract_refuses(tmp_path):
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("4915112345678\n")
    with pytest.raises(ValueError, match=r"recipient.*does not match"):
        load_messages(numbers, run="mc")
