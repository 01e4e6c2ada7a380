"""DI simulator → real buffer (SQLite and PostgreSQL) → the bounces Marketing would read.

The simulator's ground truth (``expected_bounce`` per message) must equal what the buffer serves,
with the default scenario's faults and quirks on: duplicates, swapped pairs, late and dropped
reports, raw ``+``, quoted statuses, the letter O, success without a code.
"""

from __future__ import annotations

import requests

from smsbounce import contracts
from smsbounce.simulators.di.scenario import load_scenario
from smsbounce.simulators.marketing.walk import walk
from tests.simulators.di.helpers import control, send, send_body, settle

INGEST = "/api/v1/notifications/set"
STATUS = "/api/v1/notifications/get"
MESSAGES = 80
SEED = 3


def served_bounces(buffer) -> dict[str, dict]:
    """Every bounce the buffer serves, page by page, each page checked against the contract."""

    def fetch(page: int) -> dict:
        response = requests.get(
            buffer.url + STATUS, params={"page": page}, auth=buffer.auth, timeout=10
        )
        assert response.status_code == 200, response.text
        return contracts.validate("status-response", response.json())

    served: dict[str, dict] = {}
    for body in walk(fetch).answers:
        for item in body["status"]:
            assert item["messageId"] not in served, f"served twice: {item}"
            served[item["messageId"]] = item
    return served


def test_reports_reach_the_buffer_and_match_the_ground_truth(buffer_server, start_sim):
    sim = start_sim(load_scenario(), seed=SEED)
    # One recipient per order: the buffer keys bounces on the order id (docs/spec.md §3).
    for n in range(MESSAGES):
        response = send(sim, send_body([f"+49151{n:08d}"], reply=buffer_server.url + INGEST))
        assert response.status_code == 200
    summary = settle(sim)

    # The seed makes this run exercise every fault the buffer must survive.
    reports = summary["reports"]
    assert reports["duplicates"] and reports["late"] and reports["dropped"], summary
    assert summary["swapped_messages"] and summary["final_types"]["Temporary"], summary
    assert (reports["lost"], reports["pending"], reports["retrying"]) == (0, 0, 0), summary
    for attempt in control(sim, "reports")["attempts"]:
        assert attempt["answer"] == 200, attempt

    messages = control(sim, "messages")["messages"]
    sent = [r for m in messages for r in m["reports"] if r["state"] == "acknowledged"]
    assert any(r["raw_plus"] for r in sent)
    assert any(r["status"].startswith("'") for r in sent)  # quoted
    assert any(r["status"].startswith("Ox") for r in sent)  # letter O
    assert any(r["status"].startswith("Message") for r in sent)  # success without a code
    expected = {m["order_id"]: m["expected_bounce"] for m in messages if m["expected_bounce"]}
    assert expected, "the scenario should bounce some messages"
    assert served_bounces(buffer_server) == expected
