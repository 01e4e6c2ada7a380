"""The simulator's report formats: the request each profile builds per outcome, and what the
buffer is expected to store for it (pure tables), then the wire against a recording receiver."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from smsbounce.simulators.di.__main__ import main
from smsbounce.simulators.di.formats import FORMATS, ReportContext, make_format
from smsbounce.simulators.di.scenario import PERMANENT, PlannedReport
from smsbounce.simulators.di.settings import Settings, SettingsError
from tests.helpers import twilio_accepts
from tests.simulators.di.helpers import control, quiet_scenario, send, send_body, settle

EVENT = datetime(2026, 11, 25, 20, 56, 11, 378000, tzinfo=timezone.utc)
ACCEPTED = datetime(2026, 11, 25, 20, 56, 10, tzinfo=timezone.utc)
ADDRESS = "http://buffer.example/api/v1/providers/{}/report?token=t0k"
RECIPIENT = "+4915112345678"
TEXT = "Spring sale: 20% off until Sunday"
DELIVERED, ACCEPTED_CODE, SOFT, HARD, EXPIRED = "0x451A", "0x450E", "0xDBF3", "0x4503", "0xDB65"


def context(code: str, raw_plus: bool = False) -> ReportContext:
    planned = PlannedReport(code, "the text", f"{code} the text", EVENT, 0.0, raw_plus=raw_plus)
    return ReportContext("1634731244", RECIPIENT, 1, "ACME", TEXT, ACCEPTED, planned)


def build(profile: str, code: str, raw_plus: bool = False, token: str | None = None):
    fmt = make_format(profile, twilio_auth_token=token)
    report = context(code, raw_plus)
    request = fmt.request(ADDRESS.format(profile), [fmt.item(report)])
    return fmt, request, fmt.stored(report)


def fields(request) -> dict:
    """The report's fields wherever the format puts them: query (after the token), form, JSON."""
    query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    assert query.pop("token") == "t0k"  # the address's own query is kept
    if request.body is None:
        return query
    if request.headers["Content-Type"] == "application/json":
        return {**query, **json.loads(request.body)}
    return {**query, **dict(parse_qsl(request.text, keep_blank_values=True))}


# (profile, DI code) → method, the report fields that carry the outcome, and what the buffer
# stores: (type, statusCode, statusText, recipient, timestamp). Timestamps are the event time
# 20:56:11 UTC at the precision on the wire; Twilio's None: no RawDlrDoneDate (queued, failed),
# so the buffer stamps the arrival.
TABLE = [
    ("twilio", DELIVERED, "POST", {"MessageStatus": "delivered"}, ("delivered", "", "delivered")),
    ("twilio", ACCEPTED_CODE, "POST", {"MessageStatus": "queued"}, ("intermediate", "", "queued")),
    (
        "twilio",
        SOFT,
        "POST",
        {"MessageStatus": "undelivered", "ErrorCode": "30003"},
        ("Temporary", "30003", "undelivered (code 30003)"),
    ),
    (
        "twilio",
        HARD,
        "POST",
        {"MessageStatus": "undelivered", "ErrorCode": "30005"},
        ("Permanent", "30005", "undelivered (code 30005)"),
    ),
    (
        "twilio",
        EXPIRED,
        "POST",
        {"MessageStatus": "failed", "ErrorCode": "30036"},
        ("Permanent", "30036", "failed (code 30036)"),
    ),
    (
        "vonage",
        DELIVERED,
        "GET",
        {"status": "delivered", "err-code": "0"},
        ("delivered", "0", "delivered (code 0)"),
    ),
    (
        "vonage",
        ACCEPTED_CODE,
        "GET",
        {"status": "accepted", "err-code": "0"},
        ("intermediate", "0", "accepted (code 0)"),
    ),
    (
        "vonage",
        SOFT,
        "GET",
        {"status": "failed", "err-code": "2"},
        (
            "Temporary",
            "2",
            "Absent subscriber: the phone was temporarily unavailable (off or out of coverage); "
            "try again later (Vonage err-code 2)",
        ),
    ),
    (
        "vonage",
        HARD,
        "GET",
        {"status": "failed", "err-code": "12"},
        (
            "Permanent",
            "12",
            "Destination unreachable: no route to the number; check that the number is right "
            "(Vonage err-code 12)",
        ),
    ),
    (
        "vonage",
        EXPIRED,
        "GET",
        {"status": "expired", "err-code": "1"},
        (
            "Permanent",
            "1",
            "Unknown: not delivered, and the network gave no reason (Vonage err-code 1)",
        ),
    ),
    (
        "infobip",
        DELIVERED,
        "POST",
        {"status.groupName": "DELIVERED", "error.id": 0, "error.permanent": False},
        ("delivered", "0", "No Error"),
    ),
    (
        "infobip",
        ACCEPTED_CODE,
        "POST",
        {"status.groupName": "PENDING", "error.id": 0},
        ("intermediate", "0", "No Error"),
    ),
    (
        "infobip",
        SOFT,
        "POST",
        {"status.groupName": "UNDELIVERABLE", "error.id": 27, "error.permanent": False},
        ("Temporary", "27", "Absent Subscriber"),
    ),
    (
        "infobip",
        HARD,
        "POST",
        {"status.groupName": "UNDELIVERABLE", "error.id": 1, "error.permanent": True},
        ("Permanent", "1", "Unknown Subscriber"),
    ),
    (
        "infobip",
        EXPIRED,
        "POST",
        {"status.groupName": "UNDELIVERABLE", "error.id": 32, "error.permanent": True},
        ("Permanent", "32", "SM Delivery Failure"),
    ),
    (
        "sinch",
        DELIVERED,
        "POST",
        {"status": "Delivered", "code": 0},
        ("delivered", "0", "Delivered (code 0)"),
    ),
    (
        "sinch",
        ACCEPTED_CODE,
        "POST",
        {"status": "Queued", "code": 400},
        ("intermediate", "400", "Queued (code 400)"),
    ),
    (
        "sinch",
        SOFT,
        "POST",
        {"status": "Expired", "code": 406},
        (
            "Temporary",
            "406",
            "Internal expiry: the message expired before it reached the SMSC (Sinch code 406)",
        ),
    ),
    (
        "sinch",
        HARD,
        "POST",
        {"status": "Failed", "code": 417},
        ("Permanent", "417", "Failed (code 417)"),
    ),
    (
        "sinch",
        EXPIRED,
        "POST",
        {"status": "Failed", "code": 402},
        (
            "Permanent",
            "402",
            "Message unroutable: the SMSC rejected the message; retrying is likely to fail the "
            "same way (Sinch code 402)",
        ),
    ),
    ("kannel", DELIVERED, "GET", {"type": "1"}, ("delivered", "000", None)),
    ("kannel", ACCEPTED_CODE, "GET", {"type": "8", "reply": "ACK/"}, ("intermediate", "", "ACK/")),
    ("kannel", SOFT, "GET", {"type": "2"}, ("Temporary", "027", None)),
    ("kannel", HARD, "GET", {"type": "2"}, ("Permanent", "001", None)),
    ("kannel", EXPIRED, "GET", {"type": "2"}, ("Permanent", "027", None)),
    (
        "kannel",
        "0x4524",
        "GET",
        {"type": "16", "reply": "NACK/"},
        (
            "Permanent",
            "",
            "rejected by the SMSC without a reason (NACK/; e.g. a part of a multi-part SMS)",
        ),
    ),
    (
        "kannel",
        "0xDB76",
        "GET",
        {"type": "16", "reply": "NACK/0x0000000b/Invalid Destination Address"},
        ("Permanent", "0x0000000b", "Invalid Destination Address"),
    ),
    (
        "jasmin",
        DELIVERED,
        "POST",
        {"message_status": "DELIVRD", "err": "000"},
        ("delivered", "000", "DELIVRD (code 000)"),
    ),
    (
        "jasmin",
        ACCEPTED_CODE,
        "POST",
        {"message_status": "ACCEPTD"},
        ("intermediate", "000", "ACCEPTD (code 000)"),
    ),
    (
        "jasmin",
        SOFT,
        "POST",
        {"message_status": "EXPIRED", "err": "027"},
        ("Temporary", "027", "EXPIRED (code 027)"),
    ),
    (
        "jasmin",
        HARD,
        "POST",
        {"message_status": "UNDELIV", "err": "001"},
        ("Permanent", "001", "UNDELIV (code 001)"),
    ),
    (
        "jasmin",
        EXPIRED,
        "POST",
        {"message_status": "UNDELIV", "err": "031"},
        ("Permanent", "031", "UNDELIV (code 031)"),
    ),
]

# Per profile: the id, recipient and time fields every report carries, and the stored
# recipient and timestamp.
COMMON = {
    "twilio": (
        {"MessageSid": "1634731244", "To": RECIPIENT},
        RECIPIENT,
        None,
    ),
    "vonage": (
        {"messageId": "1634731244", "msisdn": RECIPIENT[1:], "scts": "2611252056"},
        RECIPIENT,  # Vonage writes numbers without +; the buffer adds it back
        "20261125205600",
    ),
    "infobip": (
        {"messageId": "1634731244", "to": RECIPIENT[1:], "doneAt": "2026-11-25T20:56:11.378+0000"},
        RECIPIENT,
        "20261125205611",
    ),
    "sinch": (
        {
            "type": "recipient_delivery_report_sms",
            "batch_id": "1634731244",
            "recipient": RECIPIENT,
            "at": "2026-11-25T20:56:11.378Z",
        },
        RECIPIENT,
        "20261125205611",
    ),
    "kannel": (
        {"id": "1634731244", "to": RECIPIENT, "ts": str(int(EVENT.timestamp()))},
        RECIPIENT,
        "20261125205611",
    ),
    "jasmin": (
        {"id": "1634731244", "to": RECIPIENT, "donedate": "2611252056", "level": "2"},
        RECIPIENT,
        "20261125205600",
    ),
}


def _flat(document: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in document.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize(
    ("profile", "code", "method", "sent", "stored"),
    TABLE,
    ids=[f"{row[0]}-{row[1]}" for row in TABLE],
)
def test_each_outcome_becomes_the_providers_report(profile, code, method, sent, stored):
    _, request, kept = build(profile, code)
    assert request.method == method
    body = fields(request)
    if profile == "infobip":
        [body] = body["results"]
    body = _flat(body)
    ids, recipient, timestamp = COMMON[profile]
    if profile == "twilio" and sent["MessageStatus"] in ("delivered", "undelivered"):
        timestamp = "20261125205600"  # RawDlrDoneDate, to the minute
    assert {key: body.get(key) for key in {**ids, **sent}} == {**ids, **sent}
    kind, status_code, text = stored
    assert (kept.type, kept.code, kept.recipient) == (kind, status_code, recipient)
    if text is not None:
        assert kept.text == text
    if timestamp is None:  # stamped on arrival
        assert kept.event_time is None
        assert kept.stamp(ACCEPTED) == "20261125205610"
    else:
        assert kept.stamp() == timestamp


def test_kannel_reply_is_an_smsc_receipt_and_its_err_is_the_code():
    _, request, kept = build("kannel", HARD)
    reply = fields(request)["reply"]
    assert reply == (
        "id:1634731244 sub:001 dlvrd:000 submit date:2611252056 done date:2611252056 "
        "stat:UNDELIV err:001 text:Spring sale: 20% off"
    )
    # The reply's text: part is the start of the SMS; it never becomes a bounce reason.
    assert (kept.code, kept.text) == ("001", reply.split(" text:")[0])


def test_di_format_is_todays_get():
    _, request, kept = build("di", HARD)
    assert request.method == "GET" and request.body is None
    assert request.url == (
        "http://buffer.example/api/v1/providers/di/report?token=t0k&orderid=1634731244"
        "&time=205611&date=25112026&msisdn=%2B4915112345678&status=0x4503%20the%20text"
    )
    assert (kept.type, kept.code, kept.text, kept.stamp()) == (
        "Permanent",
        "0x4503",
        "the text",
        "20261125205611",
    )


@pytest.mark.parametrize("profile", ["jasmin"])
def test_raw_plus_leaves_the_recipients_plus_unescaped_in_the_url(profile):
    # Jasmin's `to` is the integrator's own text in the dlr-url, so it may come unescaped.
    _, request, _ = build(profile, HARD, raw_plus=True)
    assert "to=+4915112345678" in request.url
    _, escaped, _ = build(profile, HARD)
    assert "to=%2B4915112345678" in escaped.url


@pytest.mark.parametrize("profile", ["twilio", "vonage", "infobip", "sinch", "kannel"])
def test_raw_plus_is_a_di_quirk_only(profile):
    # smsbox always URL-encodes what it fills in: a + reaches the buffer as %2B.
    _, request, _ = build(profile, HARD, raw_plus=True)
    assert "+49" not in request.url


def test_twilio_signature_is_the_one_twilios_own_sdk_accepts():
    _, request, _ = build("twilio", SOFT, token="secret")
    params = parse_qsl(request.text)
    header = request.headers["X-Twilio-Signature"]
    assert twilio_accepts("secret", ADDRESS.format("twilio"), params, header)
    assert not twilio_accepts("wrong", ADDRESS.format("twilio"), params, header)
    _, unsigned, _ = build("twilio", SOFT)
    assert "X-Twilio-Signature" not in unsigned.headers


def test_twilio_sends_the_carriers_done_date_only_for_final_states():
    assert fields(build("twilio", HARD)[1])["RawDlrDoneDate"] == "2611252056"
    assert "RawDlrDoneDate" not in fields(build("twilio", ACCEPTED_CODE)[1])


def test_infobip_batches_several_reports_in_one_request():
    fmt = make_format("infobip")
    items = [fmt.item(context(code)) for code in (SOFT, HARD, DELIVERED)]
    request = fmt.request(ADDRESS.format("infobip"), items)
    results = json.loads(request.body)["results"]
    assert [r["status"]["groupName"] for r in results] == ["UNDELIVERABLE"] * 2 + ["DELIVERED"]


def test_only_jasmin_needs_its_ack_body():
    jasmin, other = make_format("jasmin"), make_format("vonage")
    assert jasmin.accepted(200, "ACK/Jasmin") and jasmin.accepted(200, "ACK/Jasmin\n")
    assert not jasmin.accepted(200, '{"result": "stored"}') and not jasmin.accepted(500, "")
    assert other.accepted(204, "") and not other.accepted(404, "ACK/Jasmin")


@pytest.mark.parametrize("profile", FORMATS)
def test_every_profile_describes_its_mapping(profile):
    described = make_format(profile).describe()
    outcomes = described["outcomes"]
    assert outcomes[DELIVERED]["type"] == "delivered"
    assert outcomes[ACCEPTED_CODE]["type"] == "intermediate"
    assert outcomes[SOFT]["type"] == "Temporary"
    assert {outcomes[code]["type"] for code in (*PERMANENT, "*")} == {"Permanent"}


# -- settings and command line -------------------------------------------------------------


def test_profile_settings_from_the_environment():
    settings = Settings.from_env(
        {
            "SMSBOUNCE_DI_PROFILE": "twilio",
            "SMSBOUNCE_DI_TWILIO_AUTH_TOKEN": "tok",
            "SMSBOUNCE_DI_BATCH": "50",
        }
    )
    assert (settings.profile, settings.twilio_auth_token, settings.batch) == ("twilio", "tok", 50)
    assert Settings.from_env({}).profile == "di"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SMSBOUNCE_DI_PROFILE": "nexmo"}, "SMSBOUNCE_DI_PROFILE must be one of 46elks, aws-sms"),
        ({"SMSBOUNCE_DI_BATCH": "101"}, "SMSBOUNCE_DI_BATCH must be between 1 and 100"),
    ],
)
def test_bad_profile_settings_name_the_variable(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_unknown_profile_option_stops_the_start():
    result = CliRunner().invoke(main, ["--profile", "nexmo", "--port", "0"], env={})
    assert result.exit_code == 1
    assert "--profile must be one of 46elks, aws-sms, bandwidth, bird, clickatell, di," in (
        result.output
    )


# -- on the wire ---------------------------------------------------------------------------


def test_twilio_reports_reach_the_receiver_signed_over_the_url_called(start_sim, start_receiver):
    receiver = start_receiver()
    sim = start_sim(
        quiet_scenario(outcomes=(("0xDBF3>0x4503", 1.0),)),
        profile="twilio",
        twilio_auth_token="secret",
    )
    send(sim, send_body([RECIPIENT], reply=receiver.url + "?token=abc"))
    calls = receiver.wait_for(2)
    for call in calls:
        assert call["method"] == "POST"
        params = parse_qsl(call["body"])
        assert twilio_accepts("secret", call["url"], params, call["headers"]["x-twilio-signature"])
    assert [dict(parse_qsl(c["body"]))["ErrorCode"] for c in calls] == ["30003", "30005"]
    settle(sim)
    [message] = control(sim, "messages")["messages"]
    assert message["expected_bounce"]["statusCode"] == "30005"
    assert message["final_status_code"] == "30005"
    assert [r["scenario_code"] for r in message["reports"]] == ["0xDBF3", "0x4503"]


def test_jasmin_retries_until_the_body_says_ack(start_sim, start_receiver):
    receiver = start_receiver()  # answers 200 "ok": not Jasmin's ACK
    sim = start_sim(quiet_scenario(outcomes=(("0x4503", 1.0),)), profile="jasmin")
    send(sim, send_body([RECIPIENT], reply=receiver.url))
    settle(sim)
    attempts = control(sim, "reports")["attempts"]
    assert [(a["answer"], a["result"]) for a in attempts] == [
        (200, "retrying"),
        (200, "retrying"),
        (200, "lost"),
    ]
    assert attempts[0]["error"] == "not acknowledged: the answer's body was 'ok'"
    assert attempts[0]["url"] == receiver.url + "?to=%2B4915112345678"
    [message] = control(sim, "messages")["messages"]
    assert (message["lost"], message["expected_bounce"]) == (1, None)


def test_jasmin_ack_acknowledges(start_sim, start_receiver):
    receiver = start_receiver(body="ACK/Jasmin")
    sim = start_sim(quiet_scenario(outcomes=(("0xDBF3>delivered", 1.0),)), profile="jasmin")
    send(sim, send_body([RECIPIENT], reply=receiver.url))
    settle(sim)
    [message] = control(sim, "messages")["messages"]
    assert message["acknowledged"] == 2
    assert message["expected_bounce"]["type"] == "Temporary"
    assert control(sim, "summary")["final_types"]["delivered"] == 1


def test_profile_endpoint_shows_the_mapping(start_sim):
    sim = start_sim(profile="vonage")
    profile = control(sim, "profile")
    assert profile["name"] == "vonage" and profile["timestamp"] == "event"
    assert profile["outcomes"][SOFT] == {
        "sent": "status=failed err-code=2",
        "type": "Temporary",
        "statusCode": "2",
    }


@pytest.mark.parametrize("profile", FORMATS)
def test_a_failed_try_is_retried_with_the_same_request(start_sim, start_receiver, profile):
    receiver = start_receiver(lambda number, params: 503 if number == 1 else 200, body="ACK/Jasmin")
    sim = start_sim(quiet_scenario(outcomes=(("0x4503", 1.0),)), profile=profile)
    send(sim, send_body([RECIPIENT], reply=receiver.url))
    first, second = receiver.wait_for(2)
    settle(sim)
    assert (first["answer"], second["answer"]) == (503, 200)
    same = ("method", "raw", "body")
    assert {k: first[k] for k in same} == {k: second[k] for k in same}
    [message] = control(sim, "messages")["messages"]
    assert [(r["state"], r["attempts"]) for r in message["reports"]] == [("acknowledged", 2)]
    assert message["expected_bounce"]["type"] == "Permanent"
