"""Signatures through a live buffer, on SQLite and PostgreSQL: a profile file with a
``signature`` block, its key in ``Settings.signature_keys`` as ``from_env`` reads it; what the
provider's SDK signed is stored, a forged report is answered 403, stores nothing and is counted
as ``rejected`` for ``signature``. And how the keys are configured: read once by
``Settings.from_env``, a file's missing key stops the start, a built-in's leaves it unchecked.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest
import requests
import responses
from click.testing import CliRunner

from smsbounce.buffer.__main__ import secrets_of
from smsbounce.buffer.cli import main
from smsbounce.buffer.providers import load_profiles, unchecked_signatures
from smsbounce.buffer.settings import Settings, SettingsError
from tests.buffer.ops_helpers import scrape, value
from tests.buffer.signers import (
    NONCE,
    Req,
    gatewayapi_signed,
    messagebird_signed,
    plivo_v2_signed,
    plivo_v3_signed,
    telnyx_public,
    telnyx_signed,
    twilio_signed,
    vonage_signed,
)
from tests.buffer.test_signatures_sns import CERT_URL, PEM, TOPIC, message, sign
from tests.helpers import all_bounces, assert_json_error

KEY = "the-account-key-of-at-least-32-bytes"
VARIABLE = "SMSBOUNCE_ACME_KEY"
FORM = {"messageId": "MessageUUID", "recipient": "To", "status": "Status", "code": "ErrorCode"}


@dataclasses.dataclass(frozen=True)
class Live:
    block: dict
    fields: dict
    signed: Callable[[str], Req]  # (url) -> the signed request
    forge: Callable[[Req], Req]
    message_id: str
    key: str = KEY


def _block(scheme: str, **more) -> dict:
    return {"scheme": scheme, "secret": {"env": VARIABLE}, **more}


def _body(old: bytes, new: bytes) -> Callable[[Req], Req]:
    return lambda req: dataclasses.replace(req, body=req.body.replace(old, new))


def _url(old: str, new: str) -> Callable[[Req], Req]:
    return lambda req: dataclasses.replace(req, url=req.url.replace(old, new))


LIVE = {
    "twilio": Live(
        _block("twilio"), FORM, lambda u: twilio_signed(KEY, u), _body(b"=30", b"=31"), "m-1"
    ),
    "plivo-v3": Live(
        _block("plivo-v3"),
        FORM,
        lambda u: plivo_v3_signed(KEY, url=u),
        _body(b"=30", b"=31"),
        "m-1",
    ),
    "plivo-v3-get": Live(
        _block("plivo-v3"),
        FORM,
        lambda u: plivo_v3_signed(KEY, "GET", u),
        _url("ErrorCode=30", "ErrorCode=31"),
        "m-1",
    ),
    "plivo-v2": Live(
        _block("plivo-v2"),
        FORM,
        lambda u: plivo_v2_signed(KEY, u),
        lambda req: req.with_headers(**{"X-Plivo-Signature-V2-Nonce": "1" + NONCE}),
        "m-1",
    ),
    "telnyx": Live(
        {"scheme": "telnyx", "publicKey": {"env": VARIABLE}},
        {
            "messageId": "data.payload.id",
            "recipient": "data.payload.to",
            "status": "data.payload.status",
        },
        lambda u: telnyx_signed(telnyx_public("ours"), url=u),
        _body(b"m-1", b"m-2"),
        "m-1",
        key=telnyx_public("ours"),
    ),
    "vonage": Live(
        _block("vonage", algorithm="hmac-sha256"),
        {"messageId": "messageId", "recipient": "msisdn", "status": "status", "code": "err-code"},
        lambda u: vonage_signed(KEY, "hmac-sha256", url=u),
        _url("err-code=6", "err-code=1"),
        "0A0000001234567B",
    ),
    "messagebird": Live(
        _block("messagebird"),
        {"messageId": "id", "recipient": "recipient", "status": "status"},
        lambda u: messagebird_signed(KEY, url=u),
        _body(b"m-1", b"m-2"),
        "m-1",
    ),
    "gatewayapi": Live(
        _block("gatewayapi"),
        {"messageId": "id", "recipient": "msisdn", "status": "status", "code": "code"},
        lambda u: gatewayapi_signed(KEY, url=u),
        _body(b"0x0b", b"0x0c"),
        "2381703",
    ),
    # The event inside Message is read by the profile language's JSON-in-a-string (another
    # change); here the envelope's own fields stand in for it.
    "aws-sns": Live(
        {"scheme": "aws-sns", "topics": {"env": VARIABLE}},
        {"messageId": "MessageId", "recipient": "Subject", "status": "Type"},
        lambda u: Req(
            "POST",
            u,
            json.dumps(sign(message(Subject="+4915112345678"))).encode(),
            "application/json",
        ),
        _body(b"+4915112345678", b"+4915112345679"),
        "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        key=TOPIC,
    ),
}


def profile(tmp_path, block: dict | None, fields: dict = FORM, name: str = "acme") -> str:
    document = {
        "name": name,
        "methods": ["GET", "POST"],
        "fields": fields,
        "states": {"permanent": ["failed", "delivery_failed", "REJECTED", "Notification"]},
        "internationalWithoutPlus": True,
    }
    if block is not None:
        document["signature"] = block
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    return str(path)


def send(req: Req) -> requests.Response:
    return requests.request(
        req.method,
        req.url,
        data=req.body,
        headers={**req.headers, "Content-Type": req.content_type} if req.body else req.headers,
        timeout=30,
    )


@pytest.mark.parametrize("name", LIVE)
def test_signed_reports_are_stored_and_forged_ones_refused_and_counted(
    name, start_buffer, buffer_settings, tmp_path
):
    case = LIVE[name]
    settings = dataclasses.replace(
        buffer_settings,
        provider_files=(profile(tmp_path, case.block, case.fields),),
        signature_keys={VARIABLE: case.key},
    )
    server = start_buffer(settings)
    url = f"{server.url}/api/v1/providers/acme/report"
    signed = case.signed(url)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as aws:
        aws.add_passthru(server.url)
        aws.get(CERT_URL, body=PEM)  # SNS's signing certificate, fetched by the buffer
        taken = send(signed)
        assert taken.status_code == 200, taken.text
        assert taken.json()["result"] == "stored"
        assert_json_error(send(case.forge(signed)), 403)
    assert [b["messageId"] for b in all_bounces(requests, server)] == [case.message_id]
    samples = scrape(server)
    assert (
        value(samples, "smsbounce_reports_rejected_total", provider="acme", reason="signature") == 1
    )


# --- configuration ------------------------------------------------------------------------


def test_from_env_reads_the_variable_a_profile_file_names(tmp_path):
    path = profile(tmp_path, _block("plivo-v3"))
    settings = Settings.from_env({"SMSBOUNCE_PROVIDER_FILES": path, VARIABLE: KEY})
    assert settings.signature_keys == {VARIABLE: KEY}
    assert KEY in secrets_of(settings)  # never in a log line
    described = load_profiles(settings)["acme"].describe()
    assert described["signature"] == f"plivo-v3, checked with {VARIABLE}"


def test_a_profile_files_signature_without_its_key_stops_the_start(tmp_path):
    path = profile(tmp_path, _block("plivo-v3"))
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SMSBOUNCE_PROVIDER_FILES": path})
    assert str(raised.value) == (
        f"SMSBOUNCE_PROVIDER_FILES: {path}: signature plivo-v3 needs the key in {VARIABLE}, "
        "which is not set: set it, or remove the signature block to accept unsigned reports"
    )


def test_a_key_that_cannot_be_one_stops_the_start_naming_the_variable(tmp_path):
    path = profile(tmp_path, {"scheme": "telnyx", "publicKey": {"env": VARIABLE}})
    with pytest.raises(SettingsError, match=f"{VARIABLE} is not base64"):
        Settings.from_env({"SMSBOUNCE_PROVIDER_FILES": path, VARIABLE: "not a key!"})


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"scheme": "plivo-v3"}, "'secret' is a required property"),
        ({"scheme": "telnyx", "secret": {"env": VARIABLE}}, "'publicKey' is a required property"),
        (_block("vonage"), "'algorithm' is a required property"),
        ({"scheme": "plivo-v3", "secret": {"env": "HOME"}}, "does not match"),
        ({"scheme": "plivo-v3", "secret": "in-the-file"}, "is not of type 'object'"),
        ({"scheme": "rot13", "secret": {"env": VARIABLE}}, "is not one of"),
    ],
    ids=["no-key", "wrong-key-property", "vonage-no-algorithm", "not-ours", "inline", "unknown"],
)
def test_a_bad_signature_block_stops_the_start(tmp_path, block, problem):
    path = profile(tmp_path, block)
    with pytest.raises(SettingsError, match="SMSBOUNCE_PROVIDER_FILES") as raised:
        Settings.from_env({"SMSBOUNCE_PROVIDER_FILES": path})
    assert problem in str(raised.value)


def test_a_builtin_signature_without_its_key_is_not_checked_and_said_so():
    settings = Settings.from_env({})
    twilio = load_profiles(settings)["twilio"]
    assert twilio.describe()["signature"] == (
        "twilio, not checked: SMSBOUNCE_TWILIO_AUTH_TOKEN is not set"
    )
    assert "twilio (SMSBOUNCE_TWILIO_AUTH_TOKEN)" in unchecked_signatures(load_profiles(settings))


def test_a_file_replacing_twilios_keeps_its_signature(tmp_path):
    path = profile(tmp_path, None, name="twilio")
    settings = Settings.from_env(
        {"SMSBOUNCE_PROVIDER_FILES": path, "SMSBOUNCE_TWILIO_AUTH_TOKEN": KEY}
    )
    signature = load_profiles(settings)["twilio"].signature
    assert signature.describe() == "twilio, checked with SMSBOUNCE_TWILIO_AUTH_TOKEN"
    unchecked = unchecked_signatures(
        load_profiles(Settings.from_env({"SMSBOUNCE_PROVIDER_FILES": path}))
    )
    assert "twilio (SMSBOUNCE_TWILIO_AUTH_TOKEN)" in unchecked


def test_a_file_only_inspected_needs_no_key(tmp_path, monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    path = profile(tmp_path, _block("plivo-v3"))
    result = CliRunner().invoke(main, ["providers", "list", "--file", path])
    assert result.exit_code == 0, result.output
    assert f"signature: plivo-v3, not checked: {VARIABLE} is not set" in result.output
