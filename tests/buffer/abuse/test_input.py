"""Hostile report bodies on the unauthenticated ingest, on SQLite and PostgreSQL: none answers a
5xx, each bad one is refused by name, and a batch's bad report never sinks its valid ones."""

from __future__ import annotations

import dataclasses
import json
from zoneinfo import ZoneInfo

import pytest

from smsbounce import contracts
from tests.buffer.test_providers import infobip_report, sinch_report
from tests.helpers import all_bounces, assert_json_error, report_query

TOKEN = "abuse-token-0123456789abcdef"


def url(server, name: str) -> str:
    return f"{server.url}/api/v1/providers/{name}/report"


def infobip(*reports) -> dict:
    return {"results": list(reports)}


def valid(message_id: str) -> dict:
    return infobip_report("UNDELIVERABLE", True, message_id=message_id)


def batch_answer(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return contracts.validate("ingest-batch-response", response.json())["results"]


def stored_rows(server) -> dict[str, tuple[str, str | None]]:
    """``{messageId: (statusText, rawReport)}`` as the database holds them."""
    model = server.store._model
    with server.store.database.connection_context():
        return {row.message_id: (row.status_text, row.raw_report) for row in model.select()}


# --- JSON nesting -----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 900, 40], ids=["100000", "900", "40"])
@pytest.mark.parametrize("name", ["infobip", "sinch"])
def test_deeply_nested_json_is_a_400_naming_the_depth(http, buffer_server, name, depth):
    # Inside a report, so the body is otherwise what the provider sends; under the size limit.
    body = '{"results": [{"messageId": "deep", "x": ' + "[" * depth + "]" * depth + "}]}"
    response = http.post(url(buffer_server, name), data=body, headers=_json)
    error = assert_json_error(response, 400)
    assert "nested" in error["message"]
    assert all_bounces(http, buffer_server) == []


def test_nesting_a_real_report_needs_is_taken(http, buffer_server):
    report = {**valid("nested-ok"), "extra": {"a": {"b": {"c": [[{"d": 1}]]}}}}
    [result] = batch_answer(http.post(url(buffer_server, "infobip"), json=infobip(report)))
    assert result == {"result": "stored", "messageId": "nested-ok"}


_json = {"Content-Type": "application/json"}


# --- times a report cannot have ---------------------------------------------------------------

EXTREME_TIMES = [
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:30:00+05:30",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:00:00-14:00",
]


@pytest.mark.parametrize("moment", EXTREME_TIMES)
def test_a_time_outside_what_a_report_can_hold_is_refused_by_name_and_sinks_nothing(
    http, buffer_server, moment
):
    body = infobip(valid("ok-1"), {**valid("bad"), "doneAt": moment}, valid("ok-2"))
    ok_1, bad, ok_2 = batch_answer(http.post(url(buffer_server, "infobip"), json=body))
    assert ok_1 == {"result": "stored", "messageId": "ok-1"}
    assert ok_2 == {"result": "stored", "messageId": "ok-2"}
    assert bad["error"]["status"] == 400 and bad["error"]["parameter"] == "doneAt"
    assert "doneAt" in bad["error"]["message"]
    assert sorted(b["messageId"] for b in all_bounces(http, buffer_server)) == ["ok-1", "ok-2"]


@pytest.mark.parametrize("moment", EXTREME_TIMES)
def test_a_single_report_with_such_a_time_is_a_400_naming_it(http, buffer_server, moment):
    response = http.post(
        url(buffer_server, "sinch"), json={**sinch_report("Failed", 402), "at": moment}
    )
    assert_json_error(response, 400, "at")


@pytest.mark.parametrize(
    ("date", "time", "zone"),
    [("01010001", "000000", "Europe/Berlin"), ("31129999", "235959", "America/New_York")],
    ids=["year-1-east-of-utc", "year-9999-west-of-utc"],
)
def test_a_di_date_that_leaves_the_calendar_in_utc_is_a_400(
    http, start_buffer, buffer_settings, date, time, zone
):
    ZoneInfo(zone)  # the zone exists here
    server = start_buffer(dataclasses.replace(buffer_settings, provider_timezone=zone))
    response = http.get(
        f"{server.url}/api/v1/notifications/set?{report_query(date=date, time=time)}"
    )
    assert_json_error(response, 400, "date")


@pytest.mark.parametrize("ts", ["1e20", "-1e20", "inf", "nan", "99999999999999999999"])
def test_unix_times_out_of_range_are_refused_by_name(http, buffer_server, ts):
    params = {"id": "k-1", "to": "+4915112345678", "type": "16", "ts": ts}
    assert_json_error(http.get(url(buffer_server, "kannel"), params=params), 400, "ts")


# --- NUL, control characters, lone surrogates -------------------------------------------------

CONTROL_TEXTS = ["out\x00of coverage", "out\x01\x1b[31mof\x7f\x85coverage", "out\ud800of coverage"]


@pytest.mark.parametrize("text", CONTROL_TEXTS, ids=["nul", "controls", "lone-surrogate"])
def test_control_characters_in_a_reports_text_are_stored_the_same_on_both_databases(
    http, buffer_server, text
):
    body = infobip(
        valid("ctl-ok"),
        {**valid("ctl-text"), "error": {"id": 27, "description": text, "permanent": True}},
        {**valid("ctl-code"), "error": {"id": "2\x007", "description": "x", "permanent": True}},
    )
    # ensure_ascii keeps the lone surrogate an escape: the body itself is valid UTF-8.
    response = http.post(url(buffer_server, "infobip"), data=json.dumps(body), headers=_json)
    results = batch_answer(response)
    assert [r.get("result") for r in results] == ["stored"] * 3
    served = {b["messageId"]: b for b in all_bounces(http, buffer_server)}
    kept = served["ctl-text"]["statusText"]
    assert kept.startswith("out") and kept.endswith("coverage"), kept
    assert served["ctl-code"]["statusCode"] in ("2 7", "27")
    for bounce in served.values():
        for value in bounce.values():
            assert all(c.isprintable() for c in value), bounce


def test_nul_in_a_form_report_is_stored_the_same_on_both_databases(http, buffer_server):
    from tests.buffer.test_providers import TWILIO, TWILIO_SID

    form = {**TWILIO, "ErrorMessage": "unreachable\x00handset", "ErrorCode": "3000\x003"}
    assert http.post(url(buffer_server, "twilio"), data=form).json()["result"] == "stored"
    [bounce] = all_bounces(http, buffer_server)
    assert bounce["messageId"] == TWILIO_SID
    assert "\x00" not in bounce["statusText"] + bounce["statusCode"]


def test_a_nul_in_a_message_id_is_refused_by_name(http, buffer_server):
    body = infobip(valid("nul-ok"), valid("nul\x00id"))
    ok, bad = batch_answer(http.post(url(buffer_server, "infobip"), json=body))
    assert ok["result"] == "stored" and bad["error"]["parameter"] == "messageId"


@pytest.mark.parametrize("number", ["+49١٥١١٢٣٤٥٦٧٨", "+49²³⁴⁵⁶⁷⁸⁹"], ids=["arabic", "superscript"])
def test_a_recipient_of_non_ascii_digits_is_refused_by_name(http, buffer_server, number):
    body = {**sinch_report("Failed", 402), "recipient": number}
    assert_json_error(http.post(url(buffer_server, "sinch"), json=body), 400, "recipient")


# --- batch cap --------------------------------------------------------------------------------


def small(n: int) -> dict:
    return {"messageId": f"cap-{n}", "to": "41793026727", "status": {"groupName": "REJECTED"}}


def test_infobip_batches_up_to_what_infobip_sends_are_taken(http, buffer_server):
    results = batch_answer(
        http.post(url(buffer_server, "infobip"), json=infobip(*map(small, range(100))))
    )
    assert [r["result"] for r in results] == ["stored"] * 100


def test_a_batch_beyond_the_profiles_cap_is_a_named_400_and_stores_nothing(http, buffer_server):
    response = http.post(url(buffer_server, "infobip"), json=infobip(*map(small, range(101))))
    error = assert_json_error(response, 400, "results")
    assert "100" in error["message"]
    assert all_bounces(http, buffer_server) == []


# --- tokens are never stored ------------------------------------------------------------------


@pytest.fixture
def guarded(start_buffer, buffer_settings):
    return start_buffer(dataclasses.replace(buffer_settings, ingest_tokens=(TOKEN,)))


def test_a_token_sent_as_a_form_field_is_taken_and_never_stored(http, guarded):
    from tests.buffer.test_providers import TWILIO, TWILIO_SID

    response = http.post(url(guarded, "twilio"), data={**TWILIO, "token": TOKEN})
    assert response.json()["result"] == "stored"
    _, raw = stored_rows(guarded)[TWILIO_SID]
    assert TOKEN not in raw and "token" not in json.loads(raw)


def test_a_token_inside_a_json_report_is_never_stored(http, guarded):
    report = {**valid("tok-json"), "callbackData": f"token={TOKEN}", "token": TOKEN}
    response = http.post(f"{url(guarded, 'infobip')}/{TOKEN}", json=infobip(report))
    assert batch_answer(response)[0]["result"] == "stored"
    _, raw = stored_rows(guarded)["tok-json"]
    assert TOKEN not in raw


def test_a_token_in_the_query_is_never_stored(http, guarded):
    path = f"/api/v1/notifications/set?{report_query(orderID='tok-q', token=TOKEN)}"
    assert http.get(guarded.url + path).json()["result"] == "stored"
    _, raw = stored_rows(guarded)["tok-q"]
    assert TOKEN not in raw


def test_a_time_at_the_edge_of_what_a_report_can_hold_is_stored_as_it_is(http, buffer_server):
    body = infobip({**valid("year-1"), "doneAt": "0001-01-01T12:00:00.000+0000"})
    assert (
        batch_answer(http.post(url(buffer_server, "infobip"), json=body))[0]["result"] == "stored"
    )
    [bounce] = all_bounces(http, buffer_server)  # validated against status-response
    assert bounce["timestamp"] == "00010101120000"


def test_a_report_the_mapping_cannot_handle_is_rejected_alone():
    from smsbounce.buffer.providers import Incoming, Rejected
    from tests.buffer.test_providers import PROFILES

    class Broken(type(PROFILES["infobip"])):
        def _map(self, report, query):
            if report.get("messageId") == "bug":
                raise KeyError("a bug in the mapping")
            return super()._map(report, query)

    profile = Broken(PROFILES["infobip"].document, "test")
    ok, bug = profile.parse(Incoming("POST", "", json=infobip(valid("ok"), valid("bug"))))
    assert ok.message_id == "ok"
    assert isinstance(bug, Rejected) and "could not be mapped" in str(bug)
