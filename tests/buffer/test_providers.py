"""Provider profiles against samples shaped like each provider's public documentation.

Pure tables first (no HTTP), then the endpoints over real HTTP on SQLite and PostgreSQL.
"""

import dataclasses
import json
from importlib.resources import files
from urllib.parse import urlencode

import pytest
import requests

from smsbounce import contracts
from smsbounce.buffer.intake import Intake
from smsbounce.buffer.providers import (
    GenericProfile,
    Incoming,
    ProfileError,
    Quarantined,
    Rejected,
    load_profiles,
)
from smsbounce.buffer.providers.signatures import twilio_signature as signature
from smsbounce.buffer.raw_requests import RawRequest
from smsbounce.buffer.reports import Outcome, Report, Result
from smsbounce.buffer.request_params import parse_pairs, parse_query, to_params
from smsbounce.buffer.settings import Settings, SettingsError
from tests.helpers import all_bounces, assert_json_error, twilio_accepts, twilio_signature

PROFILES = load_profiles(Settings(api_password="x"))
PROFILES_DIR = files("smsbounce.buffer.providers") / "profiles"
TWILIO_SID = "SM" + "1" * 32  # Twilio message SIDs are 34 characters


def get(query: str) -> Incoming:
    return Incoming(method="GET", url="", query=parse_query(query))


def form(body: dict, query: str = "") -> Incoming:
    pairs = tuple(parse_pairs(urlencode(body).encode(), 64, "form"))
    return Incoming(
        method="POST", url="", query=parse_query(query), form=to_params(list(pairs)), raw_form=pairs
    )


def post_json(body) -> Incoming:
    return Incoming(method="POST", url="", json=body)


VONAGE = {
    "msisdn": "447700900000",
    "to": "AcmeInc",
    "network-code": "12345",
    "messageId": "0A0000001234567B",
    "price": "0.03330000",
    "status": "delivered",
    "scts": "2001011400",
    "err-code": "0",
    "api-key": "abcd1234",
    "message-timestamp": "2020-01-01 12:00:00",
}
TWILIO = {
    "SmsSid": TWILIO_SID,
    "SmsStatus": "undelivered",
    "MessageStatus": "undelivered",
    "To": "+15558675310",
    "MessageSid": TWILIO_SID,
    "AccountSid": "AC" + "2" * 32,
    "From": "+15017122661",
    "ApiVersion": "2010-04-01",
    "ErrorCode": "30003",
}


def infobip_report(group, permanent, message_id="MESSAGE-ID-123-xyz", **extra):
    return {
        "bulkId": "BULK-ID-123-xyz",
        "messageId": message_id,
        "to": "41793026727",
        "sentAt": "2019-11-09T16:00:00.000+0000",
        "doneAt": "2019-11-09T16:00:00.000+0000",
        "smsCount": 1,
        "price": {"pricePerMessage": 0.01, "currency": "EUR"},
        "status": {"groupId": 3, "groupName": group, "id": 5, "name": "X", "description": "d"},
        "error": {
            "groupId": 1,
            "groupName": "HANDSET_ERRORS",
            "id": 27,
            "name": "EC_ABSENT_SUBSCRIBER",
            "description": "Absent Subscriber",
            "permanent": permanent,
        },
        **extra,
    }


def sinch_report(status, code):
    return {
        "type": "recipient_delivery_report_sms",
        "batch_id": "01FC66621XXXXX119Z8PMV1QPQ",
        "recipient": "+44231235674",
        "code": code,
        "status": status,
        "at": "2022-08-30T08:16:08.930Z",
        "operator_status_at": "2022-08-30T08:16:00Z",
    }


KANNEL_REPLY = (
    "id:1 sub:001 dlvrd:000 submit date:2311141200 done date:2311141201 "
    "stat:UNDELIV err:001 text:Hi"
)

CASES = [
    ("vonage", get(urlencode(VONAGE)), Outcome.DELIVERED, "0A0000001234567B", "20200101140000"),
    (
        "vonage",
        get(urlencode({**VONAGE, "status": "failed", "err-code": "2"})),
        Outcome.TEMPORARY,
        "0A0000001234567B",
        "20200101140000",
    ),
    (
        "vonage",
        form({**VONAGE, "status": "rejected", "err-code": "9"}),
        Outcome.PERMANENT,
        "0A0000001234567B",
        "20200101140000",
    ),
    (
        "vonage",
        get(urlencode({**VONAGE, "status": "buffered"})),
        Outcome.INTERMEDIATE,
        "0A0000001234567B",
        "20200101140000",
    ),
    ("twilio", form(TWILIO), Outcome.TEMPORARY, TWILIO_SID, None),
    ("twilio", form({**TWILIO, "ErrorCode": "30005"}), Outcome.PERMANENT, TWILIO_SID, None),
    (
        "twilio",
        form({**TWILIO, "MessageStatus": "delivered", "ErrorCode": ""}),
        Outcome.DELIVERED,
        TWILIO_SID,
        None,
    ),
    ("twilio", form({**TWILIO, "MessageStatus": "sent"}), Outcome.INTERMEDIATE, TWILIO_SID, None),
    (
        "infobip",
        post_json({"results": [infobip_report("UNDELIVERABLE", True)]}),
        Outcome.PERMANENT,
        "MESSAGE-ID-123-xyz",
        "20191109160000",
    ),
    (
        "infobip",
        post_json({"results": [infobip_report("UNDELIVERABLE", False)]}),
        Outcome.TEMPORARY,
        "MESSAGE-ID-123-xyz",
        "20191109160000",
    ),
    (
        "infobip",
        post_json({"results": [infobip_report("DELIVERED", False)]}),
        Outcome.DELIVERED,
        "MESSAGE-ID-123-xyz",
        "20191109160000",
    ),
    (
        "sinch",
        post_json(sinch_report("Failed", 402)),
        Outcome.PERMANENT,
        "01FC66621XXXXX119Z8PMV1QPQ",
        "20220830081608",
    ),
    (
        "sinch",
        post_json(sinch_report("Expired", 406)),
        Outcome.TEMPORARY,
        "01FC66621XXXXX119Z8PMV1QPQ",
        "20220830081608",
    ),
    (
        "sinch",
        post_json(sinch_report("Dispatched", 401)),
        Outcome.INTERMEDIATE,
        "01FC66621XXXXX119Z8PMV1QPQ",
        "20220830081608",
    ),
    (
        "kannel",
        get(
            urlencode(
                {
                    "id": "m-1",
                    "to": "+4915112345678",
                    "type": "2",
                    "reply": KANNEL_REPLY,
                    "ts": "1700000000",
                }
            )
        ),
        Outcome.PERMANENT,
        "m-1",
        "20231114221320",
    ),
    (
        "kannel",
        get(urlencode({"id": "m-1", "to": "+4915112345678", "type": "8", "ts": "1700000000"})),
        Outcome.INTERMEDIATE,
        "m-1",
        "20231114221320",
    ),
    (
        "jasmin",
        form(
            {
                "id": "6f6ad3a2-8a7b-4e0e-9f6b-1a2b3c4d5e6f",
                "id_smsc": "2",
                "message_status": "UNDELIV",
                "level": "2",
                "subdate": "2403211127",
                "donedate": "2403211128",
                "sub": "001",
                "dlvrd": "000",
                "err": "001",
                "text": "Hello",
            },
            query="to=%2B4915112345678",
        ),
        Outcome.PERMANENT,
        "6f6ad3a2-8a7b-4e0e-9f6b-1a2b3c4d5e6f",
        "20240321112800",
    ),
    (
        "jasmin",
        form(
            {"id": "j2", "message_status": "EXPIRED", "donedate": "2403211128"},
            query="to=%2B4915112345678",
        ),
        Outcome.TEMPORARY,
        "j2",
        "20240321112800",
    ),
]


@pytest.mark.parametrize(
    ("name", "incoming", "outcome", "message_id", "timestamp"),
    CASES,
    ids=[f"{c[0]}-{c[2].value}-{i}" for i, c in enumerate(CASES)],
)
def test_documented_samples_map_to_records(name, incoming, outcome, message_id, timestamp):
    [report] = PROFILES[name].parse(incoming)
    assert not isinstance(report, Rejected), report
    assert (report.outcome, report.message_id) == (outcome, message_id)
    if timestamp:
        assert report.timestamp == timestamp
    assert report.recipient.lstrip("+").isdigit()


def test_kannel_code_comes_out_of_the_smsc_reply():
    [report] = PROFILES["kannel"].parse(
        get(urlencode({"id": "m", "to": "+491", "type": "2", "reply": KANNEL_REPLY, "ts": "0"}))
    )
    # The reply's text: part (the start of the SMS) is cut: message content is no bounce reason.
    assert (report.status_code, report.status_text) == ("001", KANNEL_REPLY.split(" text:")[0])


def test_infobip_text_and_code_come_from_the_error():
    [report] = PROFILES["infobip"].parse(post_json({"results": [infobip_report("EXPIRED", False)]}))
    assert (report.status_code, report.status_text) == ("27", "Absent Subscriber")


def test_jasmin_message_text_never_becomes_the_bounce_reason():
    incoming = form(
        {
            "id": "j1",
            "message_status": "UNDELIV",
            "err": "001",
            "text": "Your code is 4711",
            "donedate": "2403211128",
        },
        query="to=%2B4915112345678",
    )
    [report] = PROFILES["jasmin"].parse(incoming)
    assert report.status_text == "UNDELIV (code 001)"


RECEIPT = "id:0000000b sub:001 dlvrd:000 submit date:2612011725 done date:2612011725"


@pytest.mark.parametrize(
    ("kind", "reply", "outcome", "code", "text"),
    [
        ("2", f"{RECEIPT} stat:UNDELIV err:001 text:Hi", Outcome.PERMANENT, "001", None),
        ("2", f"{RECEIPT} stat:EXPIRED err:027 text:Hi", Outcome.TEMPORARY, "027", None),
        ("34", f"{RECEIPT} stat:EXPIRED err:027 text:Hi", Outcome.TEMPORARY, "027", None),
        ("2", f"{RECEIPT} stat:undeliv err:1 Text:Hi", Outcome.PERMANENT, "1", None),
        # The SMS itself may say anything: only what comes before text: is the receipt.
        (
            "2",
            f"{RECEIPT} stat:UNDELIV err:001 text:stat:EXPIRED err:9",
            Outcome.PERMANENT,
            "001",
            None,
        ),
        (
            "2",
            f"{RECEIPT} stat:UNDELIV err:001 text:Line one\nline two",
            Outcome.PERMANENT,
            "001",
            None,
        ),
        ("2", f"{RECEIPT} stat:UNDELIV err:001", Outcome.PERMANENT, "001", None),
        (
            "16",
            "NACK/0x0000000b/Invalid Destination Address",
            Outcome.PERMANENT,
            "0x0000000b",
            "Invalid Destination Address",
        ),
        (
            "16",
            "NACK/Retries Exceeded",
            Outcome.TEMPORARY,
            "",
            "Kannel gave up after temporary SMSC errors (NACK/Retries Exceeded)",
        ),
        (
            "16",
            "NACK/",
            Outcome.PERMANENT,
            "",
            "rejected by the SMSC without a reason (NACK/; e.g. a part of a multi-part SMS)",
        ),
        ("34", "", Outcome.TEMPORARY, "", "expired (SMSC message state EXPIRED)"),
        (
            "2",
            "",
            Outcome.PERMANENT,
            "",
            "not delivered to the phone (the SMSC's receipt has no text)",
        ),
    ],
    ids=[
        "undelivered",
        "expired",
        "expired-tlv",
        "lower-case",
        "receipt-words-in-the-sms",
        "line-breaks",
        "no-text-part",
        "rejected-submit",
        "retries-exceeded",
        "bare-nack",
        "tlv-only-expired",
        "tlv-only-failed",
    ],
)
def test_kannel_receipts_as_real_smscs_write_them(kind, reply, outcome, code, text):
    query = urlencode({"id": "k", "to": "+4915112345678", "type": kind, "reply": reply, "ts": "0"})
    [report] = PROFILES["kannel"].parse(get(query))
    assert (report.outcome, report.status_code) == (outcome, code)
    assert report.status_text == (text or reply.split(" text:")[0].split(" Text:")[0])
    assert "Hi" not in report.status_text and "Line" not in report.status_text


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("ESME_ROK", Outcome.INTERMEDIATE),
        ("ESME_RINVDSTADR", Outcome.PERMANENT),
        ("ESME_RSUBMITFAIL", Outcome.PERMANENT),
        ("ESME_RTHROTTLED", Outcome.TEMPORARY),
        ("UNKNOWN", Outcome.INTERMEDIATE),
    ],
)
def test_jasmin_level_1_reports_a_rejected_submit_as_its_smpp_error(status, outcome):
    incoming = form({"id": "j", "level": "1", "message_status": status, "connector": "sim"}, "to=1")
    [report] = PROFILES["jasmin"].parse(incoming)
    assert report.outcome is outcome
    assert report.status_code == ""


def test_jasmin_fields_it_lacks_are_nd_and_read_as_absent():
    fields = {"id": "j", "level": "2", "message_status": "EXPIRED", "donedate": "ND", "err": "ND"}
    [report] = PROFILES["jasmin"].parse(form(fields, "to=%2B4915112345678"))
    assert (report.outcome, report.status_code, report.status_text) == (
        Outcome.TEMPORARY,
        "",
        "EXPIRED",
    )
    assert report.arrival_time  # no done date: stamped with its arrival


def test_a_profile_may_match_by_prefix_read_a_detail_and_say_why(tmp_path):
    document = {
        **MINIMAL,
        "fields": {
            **MINIMAL["fields"],
            "detail": {"from": "reason", "pattern": ["^(soft):", "^(hard):"]},
        },
        "states": {"delivered": ["ok"], "intermediate": ["E_OK"], "permanent": ["fail", "E_*"]},
        "details": {"temporary": ["soft"]},
        "reasons": {"E_GONE": "the number is gone"},
    }
    profile = GenericProfile(document)

    def parse(**fields):
        query = urlencode({"ref": "1", "phone": "+4915112345678", **fields})
        return profile.parse(get(query))[0]

    assert parse(state="E_OK").outcome is Outcome.INTERMEDIATE  # the exact value wins
    gone = parse(state="E_GONE")
    assert (gone.outcome, gone.status_text) == (Outcome.PERMANENT, "the number is gone")
    assert parse(state="fail", reason="soft: busy").outcome is Outcome.TEMPORARY
    assert parse(state="fail", reason="hard: barred").outcome is Outcome.PERMANENT


def test_international_numbers_without_plus_get_it_back():
    [report] = PROFILES["vonage"].parse(get(urlencode({**VONAGE, "status": "failed"})))
    assert report.recipient == "+447700900000"


def test_twilio_event_time_is_the_carriers_done_date():
    [report] = PROFILES["twilio"].parse(form({**TWILIO, "RawDlrDoneDate": "2611252056"}))
    assert report.timestamp == "20261125205600"


def test_sinch_temporary_delivery_failure_is_a_soft_bounce():
    [report] = PROFILES["sinch"].parse(post_json(sinch_report("Failed", 404)))
    assert report.outcome is Outcome.TEMPORARY


def test_twilio_without_error_message_gets_a_readable_text():
    [report] = PROFILES["twilio"].parse(form(TWILIO))
    assert (report.status_code, report.status_text) == ("30003", "undelivered (code 30003)")


@pytest.mark.parametrize(
    ("name", "incoming", "parameter"),
    [
        ("vonage", get(urlencode({**VONAGE, "messageId": ""})), "messageId"),
        ("sinch", post_json({**sinch_report("Failed", 402), "status": ""}), "status"),
        (
            "infobip",
            post_json({"results": [infobip_report("REJECTED", True, message_id="x" * 65)]}),
            "messageId",
        ),
    ],
    ids=["missing-id", "missing-status", "long-id"],
)
def test_what_cannot_be_a_report_is_rejected_naming_the_providers_field(name, incoming, parameter):
    [rejected] = PROFILES[name].parse(incoming)
    assert isinstance(rejected, Rejected)
    assert rejected.parameter == parameter


@pytest.mark.parametrize(
    ("name", "incoming", "parameter", "outcome"),
    [
        (
            "vonage",
            get(
                urlencode(
                    {
                        **VONAGE,
                        "status": "failed",
                        "err-code": "2",
                        "scts": "yesterday",
                        "message-timestamp": "today",
                    }
                )
            ),
            "scts",
            Outcome.TEMPORARY,
        ),
        ("twilio", form({**TWILIO, "To": "whatsapp:+1555"}), "To", Outcome.TEMPORARY),
        ("twilio", form({k: v for k, v in TWILIO.items() if k != "To"}), "To", Outcome.TEMPORARY),
    ],
    ids=["bad-time", "bad-recipient", "no-recipient"],
)
def test_a_bounce_with_a_field_it_cannot_read_is_quarantined_naming_it(
    name, incoming, parameter, outcome
):
    [held] = PROFILES[name].parse(incoming)
    assert isinstance(held, Quarantined)
    assert (held.parameter, held.outcome) == (parameter, outcome)
    assert held.message_id and parameter in held.reason


def test_a_success_with_a_field_it_cannot_read_is_acknowledged():
    # Never served anyway: refusing it would only make the provider send it again.
    [report] = PROFILES["vonage"].parse(get(urlencode({**VONAGE, "scts": "yesterday"})))
    assert isinstance(report, Report) and report.outcome is Outcome.DELIVERED


def test_a_state_the_profile_does_not_know_is_not_a_bounce():
    [report] = PROFILES["vonage"].parse(get(urlencode({**VONAGE, "status": "teleported"})))
    assert report.outcome is Outcome.INTERMEDIATE


def test_url_and_headers_given_as_functions_are_read_once_and_only_when_asked():
    reads = []

    def url():
        reads.append("url")
        return "https://example.org/report"

    incoming = Incoming(method="POST", url=url)
    assert reads == [] and incoming.headers == {}
    assert incoming.url == incoming.url == "https://example.org/report"
    assert reads == ["url"]
    assert Incoming("GET", "") == Incoming("GET", lambda: "")
    with pytest.raises(TypeError, match="url"):
        Incoming("GET")


def test_twilio_signature_is_the_one_twilios_own_sdk_computes():
    url = "https://example.com/api/v1/providers/twilio/report?token=x"
    params = [("MessageStatus", "undelivered"), ("MessageSid", TWILIO_SID), ("To", "+1555")]
    ours = signature("token", url, params)
    assert ours == twilio_signature("token", url, params)
    assert twilio_accepts("token", url, params, ours)
    assert not twilio_accepts("other-token", url, params, ours)


# --- profile files ------------------------------------------------------------------------


def write(tmp_path, document, name="mine.json"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document, indent=2))
    return path


MINIMAL = {
    "name": "acme",
    "methods": ["GET"],
    "fields": {"messageId": "ref", "recipient": "phone", "status": "state", "code": "reason"},
    "states": {"delivered": ["ok"], "permanent": ["fail"]},
    "codes": {"temporary": ["busy"]},
}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ('{\n  "name": "acme",\n  "fields": {,\n}', "line 3: not JSON"),
        ({**MINIMAL, "colour": "blue"}, "'colour' was unexpected"),
        ({**MINIMAL, "fields": {"messageId": "ref"}}, "'recipient' is a required property"),
        (
            {**MINIMAL, "fields": {**MINIMAL["fields"], "code": {"from": "x", "pattern": "(("}}},
            "fields.code.pattern is not a valid regular expression",
        ),
        (
            {**MINIMAL, "states": {"delivered": ["ok"], "permanent": ["OK"]}},
            "states: 'ok' is listed under both delivered and permanent",
        ),
        ({**MINIMAL, "states": {"sometimes": ["x"]}}, "'sometimes' is not one of"),
        ({**MINIMAL, "time": {"format": "%Q"}}, "time.format '%Q' can never read"),
        ({**MINIMAL, "time": {"format": "yyyy-MM-dd HH:mm"}}, "can never read a report's time"),
        ({**MINIMAL, "time": {"format": "%H:%M"}}, "with the date and hour"),
        ({**MINIMAL, "time": {"timezone": "Europe/Nowhere"}}, "is not an IANA time zone"),
        ({**MINIMAL, "time": {"format": ["unix", "%Q"]}}, "time.format '%Q' can never read"),
        ({**MINIMAL, "unwrap": "Message"}, "unwrap reads a POST body, but methods is ['GET']"),
        ({**MINIMAL, "body": "json"}, "body reads a POST body"),
        ({**MINIMAL, "reports": "/results"}, "reports reads a POST body"),
        (
            {**MINIMAL, "fields": {**MINIMAL["fields"], "recipient": "to[].phone"}},
            "a list element is written [0]",
        ),
        ({**MINIMAL, "methods": ["POST"], "unwrap": "a[*]"}, "unwrap: 'a[*]' is no path"),
    ],
    ids=[
        "bad-json",
        "unknown-key",
        "missing-field",
        "bad-regex",
        "impossible",
        "unknown-group",
        "unknown-directive",
        "no-directive",
        "no-date",
        "unknown-zone",
        "unknown-directive-in-list",
        "unwrap-without-post",
        "json-body-without-post",
        "reports-without-post",
        "empty-index",
        "star-index",
    ],
)
def test_bad_profile_files_are_refused_naming_file_and_problem(tmp_path, document, problem):
    path = write(tmp_path, document)
    with pytest.raises(ProfileError) as caught:
        GenericProfile.from_file(path)
    assert str(caught.value).startswith(str(path))
    assert problem in str(caught.value)
    with pytest.raises(SettingsError) as at_start:
        Settings.from_env({"SMSBOUNCE_PROVIDER_FILES": str(path)})
    assert problem in str(at_start.value)


def test_a_code_longer_than_marketing_holds_is_cut_and_kept_whole_in_the_text(caplog):
    query = urlencode({**VONAGE, "status": "failed", "err-code": "CARRIER_BLOCKED_99"})
    [report] = PROFILES["vonage"].parse(get(query))
    assert report.status_code == "CARRIER_BL"  # Marketing's statusCode holds 10 characters
    assert report.status_text == "failed (code CARRIER_BLOCKED_99)"
    assert "'CARRIER_BLOCKED_99' is longer than 10 characters" in caplog.text


def test_a_user_file_replaces_a_builtin_of_the_same_name(tmp_path):
    mine = json.loads((PROFILES_DIR / "vonage.json").read_text())
    mine["codes"]["temporary"].append("5")
    path = write(tmp_path, mine)
    profiles = load_profiles(Settings(api_password="x", provider_files=(str(path),)))
    [report] = profiles["vonage"].parse(
        get(urlencode({**VONAGE, "status": "failed", "err-code": "5"}))
    )
    assert report.outcome is Outcome.TEMPORARY


# --- over HTTP, on both databases ----------------------------------------------------------


def report_url(server, name):
    return f"{server.url}/api/v1/providers/{name}/report"


def test_every_builtin_endpoint_stores_its_bounce(buffer_server):
    answers = [
        requests.get(report_url(buffer_server, "vonage"), params={**VONAGE, "status": "failed"}),
        requests.post(report_url(buffer_server, "twilio"), data=TWILIO),
        requests.post(
            report_url(buffer_server, "infobip"),
            json={"results": [infobip_report("REJECTED", True)]},
        ),
        requests.post(report_url(buffer_server, "sinch"), json=sinch_report("Failed", 402)),
        requests.get(
            report_url(buffer_server, "kannel"),
            params={"id": "kannel-1", "to": "+4915112345678", "type": "16", "ts": "1700000000"},
        ),
    ]
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    jasmin = requests.post(
        report_url(buffer_server, "jasmin") + "?to=%2B4915112345678",
        data={"id": "jasmin-1", "message_status": "REJECTD", "donedate": "2403211128"},
    )
    assert (jasmin.status_code, jasmin.text) == (200, "ACK/Jasmin")
    served = {b["messageId"]: b["type"] for b in all_bounces(requests, buffer_server)}
    assert served == {
        "0A0000001234567B": "Permanent",  # Vonage err-code 0 with status failed
        TWILIO_SID: "Temporary",
        "MESSAGE-ID-123-xyz": "Permanent",
        "01FC66621XXXXX119Z8PMV1QPQ": "Permanent",
        "kannel-1": "Permanent",
        "jasmin-1": "Permanent",
    }


def test_a_partly_invalid_batch_stores_the_valid_reports_and_names_the_rest(buffer_server):
    body = {
        "results": [
            infobip_report("UNDELIVERABLE", True, message_id="ok-1"),
            infobip_report("UNDELIVERABLE", True, message_id="two words"),
            infobip_report("UNDELIVERABLE", True, message_id=""),
            infobip_report("DELIVERED", False, message_id="ok-2"),
            infobip_report("EXPIRED", False, message_id="ok-3", unknownField={"x": 1}),
        ]
    }
    answer = requests.post(report_url(buffer_server, "infobip"), json=body)
    assert answer.status_code == 200
    contracts.validate("ingest-batch-response", answer.json())
    assert answer.json() == {
        "results": [
            {"result": "stored", "messageId": "ok-1"},
            {
                "error": {
                    "status": 400,
                    "message": "messageId must be 1 to 64 printable characters without spaces",
                    "parameter": "messageId",
                }
            },
            {"result": "quarantined"},  # no message id: held for `smsbounce replay`
            {"result": "acknowledged", "messageId": "ok-2"},
            {"result": "stored", "messageId": "ok-3"},
        ]
    }
    served = {b["messageId"]: b["type"] for b in all_bounces(requests, buffer_server)}
    assert served == {"ok-1": "Permanent", "ok-3": "Temporary"}


def test_a_batch_with_nothing_usable_is_a_400(buffer_server):
    body = {"results": [infobip_report("REJECTED", True, message_id="two words")]}
    error = assert_json_error(
        requests.post(report_url(buffer_server, "infobip"), json=body), 400, "messageId"
    )
    assert error["message"].startswith("no report could be taken")


@pytest.mark.parametrize(
    ("method", "name", "kwargs", "status"),
    [
        ("get", "nobody", {}, 404),
        ("get", "infobip", {}, 405),
        (
            "post",
            "infobip",
            {"data": "not json", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        ("post", "infobip", {"json": {"no": "results"}}, 400),
        ("post", "sinch", {"data": b"<xml/>", "headers": {"Content-Type": "text/xml"}}, 415),
        ("post", "sinch", {"data": b"x" * (256 * 1024 + 1)}, 413),
    ],
    ids=["unknown-provider", "wrong-method", "not-json", "no-list", "xml", "too-large"],
)
def test_request_level_errors(buffer_server, method, name, kwargs, status):
    response = getattr(requests, method)(report_url(buffer_server, name), **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["status"] == status
    assert all_bounces(requests, buffer_server) == []


def test_wrong_method_names_the_allowed_ones(buffer_server):
    assert requests.get(report_url(buffer_server, "twilio")).headers["Allow"] == "POST"


@pytest.fixture
def twilio_buffer(start_buffer, buffer_settings):
    token = "twilio-auth-token"
    server = start_buffer(dataclasses.replace(buffer_settings, twilio_auth_token=token))
    return server, token


def test_twilio_signature_valid(twilio_buffer):
    server, token = twilio_buffer
    url = report_url(server, "twilio")
    headers = {"X-Twilio-Signature": twilio_signature(token, url, TWILIO.items())}
    assert requests.post(url, data=TWILIO, headers=headers).json()["result"] == "stored"


@pytest.mark.parametrize("header", [None, "bm90IHRoZSBzaWduYXR1cmU="], ids=["missing", "invalid"])
def test_twilio_signature_missing_or_invalid_is_refused(twilio_buffer, header):
    server, _ = twilio_buffer
    headers = {"X-Twilio-Signature": header} if header else {}
    response = requests.post(report_url(server, "twilio"), data=TWILIO, headers=headers)
    assert_json_error(response, 403)
    assert all_bounces(requests, server) == []


def test_twilio_signature_uses_the_public_url_behind_a_proxy(start_buffer, buffer_settings):
    token, public = "twilio-auth-token", "https://smsbounce.example.com"
    server = start_buffer(
        dataclasses.replace(buffer_settings, twilio_auth_token=token, public_url=public)
    )
    path = "/api/v1/providers/twilio/report?ref=1"
    headers = {"X-Twilio-Signature": twilio_signature(token, public + path, TWILIO.items())}
    response = requests.post(server.url + path, data=TWILIO, headers=headers)
    assert response.json()["result"] == "stored"


def test_a_generic_profile_file_gets_its_own_endpoint(start_buffer, buffer_settings, tmp_path):
    path = write(tmp_path, MINIMAL)
    server = start_buffer(dataclasses.replace(buffer_settings, provider_files=(str(path),)))
    url = report_url(server, "acme")
    answers = [
        requests.get(url, params={"ref": "a1", "phone": "+491", "state": "fail", "reason": "busy"}),
        requests.get(url, params={"ref": "a2", "phone": "+491", "state": "fail"}),
        requests.get(url, params={"ref": "a3", "phone": "+491", "state": "ok"}),
    ]
    assert [a.json()["result"] for a in answers] == ["stored", "stored", "acknowledged"]
    served = {b["messageId"]: b["type"] for b in all_bounces(requests, server)}
    assert served == {"a1": "Temporary", "a2": "Permanent"}


def test_tokens_guard_provider_endpoints_too(start_buffer, buffer_settings):
    token = "t0ken-0123456789abcdef"
    server = start_buffer(dataclasses.replace(buffer_settings, ingest_tokens=(token,)))
    url = report_url(server, "sinch")
    assert_json_error(requests.post(url, json=sinch_report("Failed", 402)), 404)
    assert requests.post(f"{url}/{token}", json=sinch_report("Failed", 402)).ok
    assert requests.post(f"{url}?token={token}", json=sinch_report("Failed", 402)).ok


# --- the language's reach: list elements, JSON that does not say so, several time formats ---


def test_a_path_reaches_into_a_list_element():
    document = {
        "name": "listy",
        "methods": ["POST"],
        "fields": {
            "messageId": "data.id",
            "recipient": "data.to[0].number",
            "status": "data.to.0.status",  # the dotted spelling reads the same element
        },
        "states": {"permanent": ["failed"]},
    }
    profile = GenericProfile(document)
    body = {"data": {"id": "m1", "to": [{"number": "+4915112345678", "status": "failed"}]}}
    [report] = profile.parse(post_json(body))
    assert (report.recipient, report.outcome) == ("+4915112345678", Outcome.PERMANENT)
    [missing] = profile.parse(post_json({"data": {"id": "m1", "to": []}}))
    assert isinstance(missing, Rejected) and missing.parameter == "data.to.0.status"


UNWRAPPING = {
    "name": "wrapped",
    "methods": ["POST"],
    "body": "json",
    "unwrap": "Message",
    "fields": {"messageId": "id", "recipient": "to", "status": "state"},
    "states": {"permanent": ["failed"]},
}
EVENT = {"id": "m1", "to": "+4915112345678", "state": "failed"}


@pytest.mark.parametrize(
    "body",
    [json.dumps({"Type": "Notification", "Message": json.dumps(EVENT)}), json.dumps(EVENT)],
    ids=["envelope", "raw"],
)
def test_a_text_plain_body_and_a_json_string_field_are_read_as_json(body):
    raw = RawRequest("POST", content_type="text/plain; charset=UTF-8", body=body.encode())
    taken = Intake().take(GenericProfile(UNWRAPPING), raw)
    assert [v.result for v in taken.verdicts] == [Result.STORED], taken.error


def test_a_field_that_should_hold_json_and_does_not_is_named():
    body = json.dumps({"Message": "Hello world!"}).encode()
    taken = Intake().take(GenericProfile(UNWRAPPING), RawRequest("POST", body=body))
    assert taken.error.parameter == "Message" and "must hold the report as JSON" in str(taken.error)


def test_without_body_json_text_plain_is_still_refused():
    document = {k: v for k, v in UNWRAPPING.items() if k != "body"}
    raw = RawRequest("POST", content_type="text/plain", body=json.dumps(EVENT).encode())
    assert Intake().take(GenericProfile(document), raw).error.status == 415


def test_time_formats_are_tried_in_order_on_every_time_field():
    document = {
        **MINIMAL,
        "fields": {**MINIMAL["fields"], "time": {"from": ["a", "b"]}},
        "time": {"format": ["%y%m%d%H%M", "%Y-%m-%d %H:%M:%S"]},
    }
    profile = GenericProfile(document)

    def stamp(**times):
        [report] = profile.parse(
            get(urlencode({"ref": "1", "phone": "+491", "state": "fail", **times}))
        )
        return report

    assert stamp(a="2001011400", b="2021-01-01 00:00:00").timestamp == "20200101140000"
    assert stamp(a="1234567890", b="2021-01-01 00:00:00").timestamp == "20210101000000"
    assert stamp(b="2021-01-01 00:00:00").timestamp == "20210101000000"
    held = stamp(a="yesterday", b="today")
    assert isinstance(held, Quarantined) and held.parameter == "a"
    assert "none of a, b is a time" in held.reason
