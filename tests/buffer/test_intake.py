"""One door: the same report sent as a live request, read back from its kept raw record, and
given to ``smsbounce providers try`` as a sample gets the same verdict from each (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner

from smsbounce.buffer.cli import main
from smsbounce.buffer.intake import Intake
from smsbounce.buffer.providers import load_profiles
from smsbounce.buffer.raw_requests import request_from
from tests.helpers import all_bounces, report_query

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# (provider, method, query, content type, body): a DI bounce, a form-posted Vonage bounce and
# success, a Jasmin receipt without recipient (quarantined), an Infobip batch of a bounce and
# a delivery, and a DI report without msisdn (rejected).
CASES = {
    "di-bounce": ("di", "GET", report_query(orderID="di-1"), None, None),
    "vonage-bounce": (
        "vonage",
        "POST",
        "",
        FORM,
        "messageId=v-1&msisdn=4915112345678&scts=2602011015&status=failed&err-code=2",
    ),
    "vonage-delivered": (
        "vonage",
        "POST",
        "",
        FORM,
        "messageId=v-2&msisdn=4915112345678&scts=2602011015&status=delivered&err-code=0",
    ),
    # 20 fields: the server takes a form of up to 64, and so must the sample.
    "vonage-many-fields": (
        "vonage",
        "POST",
        "",
        FORM,
        "messageId=v-3&msisdn=4915112345678&scts=2602011015&status=expired&err-code=1&"
        + "&".join(f"extra-{n}=x" for n in range(15)),
    ),
    "jasmin-quarantined": (
        "jasmin",
        "POST",
        "",
        FORM,
        "id=j-1&level=2&message_status=UNDELIV&err=001&donedate=2612011716&subdate=2612011715",
    ),
    "infobip-batch": (
        "infobip",
        "POST",
        "",
        JSON,
        json.dumps(
            {
                "results": [
                    {
                        "messageId": "ib-1",
                        "to": "4915112345678",
                        "status": {"groupName": "UNDELIVERABLE"},
                        # A time of its own: one stamped on arrival differs between doors.
                        "doneAt": "2026-02-01T10:15:00.000+0000",
                    },
                    {
                        "messageId": "ib-2",
                        "to": "4915112345678",
                        "status": {"groupName": "DELIVERED"},
                        "doneAt": "2026-02-01T10:15:00.000+0000",
                    },
                ]
            }
        ),
    ),
    "di-rejected": ("di", "GET", report_query(orderID="di-2", msisdn=None), None, None),
}


def live(server, provider, method, query, content_type, body):
    path = (
        "/api/v1/notifications/set" if provider == "di" else f"/api/v1/providers/{provider}/report"
    )
    headers = {"Content-Type": content_type} if content_type else {}
    url = server.url + path + ("?" + query if query else "")
    return requests.request(method, url, data=body, headers=headers, timeout=10)


def sample_verdicts(provider, method, query, body):
    sample = body if body is not None else "?" + query
    args = ["providers", "try", "--json", provider, sample, "--method", method]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def kept_records(server, provider):
    """Every raw record the buffer kept for ``provider``: stored bounces' and quarantined."""
    stored = [row.raw_report for row in server.store.stored(provider=provider)]
    held = [entry.raw_request for entry in server.store.quarantine.entries(provider=provider)]
    return stored + held


@pytest.mark.parametrize("case", list(CASES))
def test_a_report_gets_the_same_verdict_from_every_door(buffer_server, buffer_settings, case):
    provider, method, query, content_type, body = CASES[case]
    answer = live(buffer_server, provider, method, query, content_type, body)
    from_sample = sample_verdicts(provider, method, query, body)

    # The live answer is what the sample's verdicts answer, report by report.
    if any(v["result"] == "rejected" for v in from_sample) and len(from_sample) == 1:
        assert answer.status_code == 400
        assert answer.json() == {"error": from_sample[0]["error"]}
        assert kept_records(buffer_server, provider) == []
        return
    assert answer.status_code == 200, answer.text
    profile = load_profiles(buffer_settings)[provider]
    if profile.answer.body is not None:  # answered the way the provider expects (Jasmin: ACK)
        assert answer.text == profile.answer.body
    else:
        results = answer.json().get("results", [answer.json()])
        assert [r["result"] for r in results] == [v["result"] for v in from_sample]
    served = {b["messageId"]: b for b in all_bounces(requests, buffer_server)}
    assert served == {v["messageId"]: v["item"] for v in from_sample if v["result"] == "stored"}

    # Each kept record, passed through the door again, is decided as its sample was.
    door = Intake(check_signatures=False)
    by_id = {v["messageId"]: v for v in from_sample}
    kept = [v for v in from_sample if v["result"] in ("stored", "quarantined")]
    records = kept_records(buffer_server, provider)
    assert len(records) == len(kept)
    for record in records:
        [again] = [v.as_json() for v in door.take(profile, request_from(record, profile)).verdicts]
        assert again == by_id[again["messageId"]]
