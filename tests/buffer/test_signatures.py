"""Every signature scheme against the provider's own SDK (buffer/providers/signatures.py).

The SDK signs (Twilio, Plivo V3, Vonage HMACs) or checks (Plivo V2, Telnyx, MessageBird,
GatewayAPI through PyJWT as its docs do) each request, and our check must agree: what the
provider signed is accepted; a tampered request, another key, no signature, an old timestamp
are refused — by their SDK too, so the forgery is a real one. Requests pass the real door's
adapter (``intake.incoming``). AWS SNS has no official Python verifier: tests/buffer/
test_signatures_sns.py builds its canonical string from AWS's documentation instead.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from unittest import mock
from urllib.parse import urlencode

import jwt
import pytest
from plivo.utils import validate_signature as plivo_v2_accepts
from vonage_http_client.auth import Auth as VonageAuth

from smsbounce.buffer.providers import Incoming, signatures
from smsbounce.buffer.raw_requests import JSON
from tests.buffer.signers import (
    BASE,
    GATEWAYAPI_DSN,
    MESSAGEBIRD_BODY,
    NONCE,
    URL,
    VONAGE_REPORT,
    VONAGE_SDK_METHODS,
    Req,
    gatewayapi_sdk,
    gatewayapi_signed,
    messagebird_sdk,
    messagebird_signed,
    plivo_v2_sdk,
    plivo_v2_signed,
    plivo_v3_sdk,
    plivo_v3_signed,
    telnyx_public,
    telnyx_sdk,
    telnyx_signed,
    twilio_sdk,
    twilio_signed,
    vonage_sdk,
    vonage_signed,
)


@dataclasses.dataclass(frozen=True)
class Scheme:
    block: dict
    signed: Callable[[str], Req]  # the provider's request, signed under a key
    sdk: Callable[[str, Req], bool]  # whether the provider's SDK accepts it
    tamper: Callable[[Req], Req]
    headers: tuple[str, ...]  # the signature's headers
    key: str = "the-account-key-of-at-least-32-bytes"
    other_key: str = "another-account-key-of-32-bytes-too"


def _secret(scheme: str, **more) -> dict:
    return {"scheme": scheme, "secret": {"env": "SMSBOUNCE_ACME_KEY"}, **more}


def _vonage(algorithm: str, method: str = "GET") -> Scheme:
    def tamper(req: Req) -> Req:
        if req.method == "GET":
            return dataclasses.replace(req, url=req.url.replace("err-code=6", "err-code=1"))
        return req.replace_in_body(b"err-code=6", b"err-code=1")

    return Scheme(
        _secret("vonage", algorithm=algorithm),
        lambda key: vonage_signed(key, algorithm, method),
        lambda key, req: vonage_sdk(key, algorithm, req),
        tamper,
        (),
    )


def _drop_vonage_sig(req: Req) -> Req:
    if req.method == "GET":
        return dataclasses.replace(req, url=req.url.split("&sig=")[0])
    return dataclasses.replace(req, body=req.body.split(b"&sig=")[0])


SCHEMES = {
    "twilio": Scheme(
        _secret("twilio"),
        twilio_signed,
        twilio_sdk,
        lambda req: req.replace_in_body(b"ErrorCode=30", b"ErrorCode=31"),
        ("X-Twilio-Signature",),
    ),
    "plivo-v3-post": Scheme(
        _secret("plivo-v3"),
        plivo_v3_signed,
        plivo_v3_sdk,
        lambda req: req.replace_in_body(b"Status=failed", b"Status=delivered"),
        ("X-Plivo-Signature-V3",),
    ),
    "plivo-v3-get": Scheme(
        _secret("plivo-v3"),
        lambda key: plivo_v3_signed(key, "GET"),
        plivo_v3_sdk,
        lambda req: dataclasses.replace(req, url=req.url.replace("Status=failed", "Status=x")),
        ("X-Plivo-Signature-V3",),
    ),
    # V2 signs the URL and the nonce only: the one thing to tamper with is the nonce.
    "plivo-v2": Scheme(
        _secret("plivo-v2"),
        plivo_v2_signed,
        plivo_v2_sdk,
        lambda req: req.with_headers(**{"X-Plivo-Signature-V2-Nonce": "1" + NONCE}),
        ("X-Plivo-Signature-V2",),
    ),
    "telnyx": Scheme(
        {"scheme": "telnyx", "publicKey": {"env": "SMSBOUNCE_ACME_KEY"}},
        telnyx_signed,
        telnyx_sdk,
        lambda req: req.replace_in_body(b"finalized", b"sent"),
        ("telnyx-signature-ed25519",),
        key=telnyx_public("ours"),
        other_key=telnyx_public("another"),
    ),
    **{f"vonage-{a}": _vonage(a) for a in signatures.VONAGE_ALGORITHMS},
    "vonage-hmac-sha256-post": _vonage("hmac-sha256", "POST"),
    "messagebird": Scheme(
        _secret("messagebird"),
        messagebird_signed,
        messagebird_sdk,
        lambda req: req.replace_in_body(b"failed", b"delivered"),
        ("MessageBird-Signature-JWT",),
    ),
    "gatewayapi": Scheme(
        _secret("gatewayapi"),
        gatewayapi_signed,
        gatewayapi_sdk,
        lambda req: req.replace_in_body(b"REJECTED", b"DELIVERED"),
        ("X-Gwapi-Signature",),
    ),
}


def ours(scheme: Scheme, key: str, req: Req) -> str | None:
    return signatures.configure(scheme.block, key).problem(req.incoming())


def agree(scheme: Scheme, req: Req, key: str | None = None) -> str | None:
    """Our verdict on ``req``, after checking the provider's SDK reaches the same one."""
    key = key or scheme.key
    problem = ours(scheme, key, req)
    assert scheme.sdk(key, req) is (problem is None), problem
    return problem


@pytest.mark.parametrize("name", SCHEMES)
def test_what_the_provider_signed_is_accepted(name):
    scheme = SCHEMES[name]
    assert agree(scheme, scheme.signed(scheme.key)) is None


@pytest.mark.parametrize("name", SCHEMES)
def test_a_tampered_request_is_refused(name):
    scheme = SCHEMES[name]
    assert "does not" in agree(scheme, scheme.tamper(scheme.signed(scheme.key)))


@pytest.mark.parametrize("name", SCHEMES)
def test_a_request_signed_with_another_key_is_refused(name):
    scheme = SCHEMES[name]
    assert agree(scheme, scheme.signed(scheme.other_key)) is not None


@pytest.mark.parametrize("name", SCHEMES)
def test_a_request_without_signature_is_refused(name):
    scheme = SCHEMES[name]
    signed = scheme.signed(scheme.key)
    unsigned = (
        _drop_vonage_sig(signed)
        if name.startswith("vonage")
        else signed.with_headers(**dict.fromkeys(scheme.headers))
    )
    assert "missing" in agree(scheme, unsigned)


def test_nothing_is_checked_while_the_key_is_not_set():
    signature = signatures.configure(_secret("plivo-v3"), None)
    assert signature.problem(Req("POST", URL).incoming()) is None
    assert signature.describe() == "plivo-v3, not checked: SMSBOUNCE_ACME_KEY is not set"


# --- Plivo --------------------------------------------------------------------------------


@pytest.mark.parametrize(("token", "valid"), [("my_auth_token", True), ("my_auth_tokens", False)])
def test_plivo_v2_official_vector(token, valid):
    """plivo/plivo-python tests/resources/test_signature.py (via tests/buffer/documented)."""
    signature, nonce = "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=", "12345"
    assert plivo_v2_accepts("https://answer.url", nonce, signature, token) is valid
    req = Req("POST", "https://answer.url")
    req = req.with_headers(
        **{"X-Plivo-Signature-V2": signature, "X-Plivo-Signature-V2-Nonce": nonce}
    )
    assert (ours(SCHEMES["plivo-v2"], token, req) is None) is valid


def test_plivo_v3_accepts_the_main_accounts_signature_and_lists():
    scheme = SCHEMES["plivo-v3-post"]
    signed = scheme.signed(scheme.key)
    mine = signed.headers["X-Plivo-Signature-V3"]
    listed = signed.with_headers(**{"X-Plivo-Signature-V3": "bm9wZQ==," + mine})
    assert agree(scheme, listed) is None
    main = signed.with_headers(
        **{"X-Plivo-Signature-V3": "bm9wZQ==", "X-Plivo-Signature-Ma-V3": mine}
    )
    assert ours(scheme, scheme.key, main) is None


# --- Telnyx -------------------------------------------------------------------------------


@pytest.mark.parametrize("off", [-301, 301])
def test_telnyx_timestamp_outside_five_minutes_is_refused(off):
    scheme = SCHEMES["telnyx"]
    problem = agree(scheme, telnyx_signed(scheme.key, time.time() + off))
    assert "away from now" in problem


def test_telnyx_timestamp_inside_five_minutes_is_accepted():
    scheme = SCHEMES["telnyx"]
    assert agree(scheme, telnyx_signed(scheme.key, time.time() - 250)) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [("not base64!", "is not base64"), (base64.b64encode(b"short").decode(), "is 5 bytes")],
)
def test_a_telnyx_key_that_is_none_stops_the_start(value, problem):
    with pytest.raises(ValueError, match=f"SMSBOUNCE_ACME_KEY {problem}"):
        signatures.configure(SCHEMES["telnyx"].block, value)


# --- Vonage -------------------------------------------------------------------------------

# Vonage/vonage-python-sdk@19168f9b http_client/tests/test_auth.py (via tests/buffer/documented)
VONAGE_VECTORS = [
    ("hmac-md5", {"param": "value", "timestamp": 1234567890}, "655a4d0b7f064dff438defc52b012cf5"),
    (
        "hmac-sha256",
        {"param1": "value1", "param2": "value2", "timestamp": 1234567890},
        "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287",
    ),
    (
        "hmac-md5",
        {"param1": "value&1", "param2": "value=2", "timestamp": 1234567890},
        "2bbf0abafb2c55e5af6231513896a2ac",
    ),
]


@pytest.mark.parametrize(("algorithm", "params", "sig"), VONAGE_VECTORS)
def test_vonage_official_vectors(algorithm, params, sig):
    auth = VonageAuth(
        api_key="qwerasdf",
        signature_secret="signature_secret",
        signature_method=VONAGE_SDK_METHODS[algorithm],
    )
    assert auth.check_signature({**params, "sig": sig})
    req = Req("GET", BASE + "?" + urlencode({**params, "sig": sig}))
    scheme = _vonage(algorithm)
    assert ours(scheme, "signature_secret", req) is None
    assert ours(scheme, "another_secret", req) is not None


def test_vonage_md5_hash_is_not_the_sdks_hmac_md5():
    scheme = _vonage("md5-hash")
    hmac_signed = vonage_signed(scheme.key, "hmac-md5")
    assert ours(scheme, scheme.key, hmac_signed) is not None


def test_vonage_json_post_is_checked_on_its_fields():
    auth = VonageAuth(api_key="k", signature_secret="s3cret", signature_method="sha256")
    report = {**VONAGE_REPORT, "sig": auth.sign_params(dict(VONAGE_REPORT))}
    req = Req("POST", URL, json.dumps(report).encode(), JSON)
    assert ours(_vonage("hmac-sha256"), "s3cret", req) is None
    forged = Req("POST", URL, json.dumps({**report, "err-code": "1"}).encode(), JSON)
    assert ours(_vonage("hmac-sha256"), "s3cret", forged) is not None


# --- MessageBird --------------------------------------------------------------------------

# messagebird/python-rest-api@2905d953 tests/test_request_validator/
# webhook_signature_test_data.json: the cross-SDK vectors, all at 2021-07-05T10:00:00Z.
MB_SECRET = "36efdd1aace2e26cd490f0d951138253bef2f7c6d34d18981da781555cc4cebb"
MB_NOW = datetime(2021, 7, 5, 10, tzinfo=timezone.utc)
MB_VECTORS = [
    (
        "valid, URL parameters and payload (POST)",
        "https://example.com/path?bar=1&foo=2",
        b"Hello, World!",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI5M2U1NTAwNi1hMGU4LTQ1MjYtYTE5MC1mYTVmZjAwZWExMTYiLCJ1cmxfaGFzaCI6IjQxZjA1ZjBkZGQwYTIyYWIyMDlhYzQ2ZjQ3YzQ1NzJkOWNlZmEyNTdlZDc0YjI0MDA0YmFlNzUzZWNlNmMyNjAiLCJwYXlsb2FkX2hhc2giOiJkZmZkNjAyMWJiMmJkNWIwYWY2NzYyOTA4MDllYzNhNTMxOTFkZDgxYzdmNzBhNGIyODY4OGEzNjIxODI5ODZmIn0._H--TOuYFLpeEH39-rg5E3IHVkjHozBcaKVWPRC5m9I",
        None,
    ),
    (
        "valid, URL parameters, no payload (GET)",
        "https://example.com/path?bar=1&foo=2",
        b"",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiJjOTQ2YWY3Ny1lMTgyLTRlYWEtYjJmZi0xYTU0NWI1ZTk5MWEiLCJ1cmxfaGFzaCI6IjQxZjA1ZjBkZGQwYTIyYWIyMDlhYzQ2ZjQ3YzQ1NzJkOWNlZmEyNTdlZDc0YjI0MDA0YmFlNzUzZWNlNmMyNjAifQ.huo2ou6JDoDc7sV25d75UMWeYhBeavQlLsqIibSZuac",
        None,
    ),
    (
        "received before it was issued",
        "https://example.com/",
        b"",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ4MjgwMCwiZXhwIjoxNjI1NDgyODYwLCJqdGkiOiJmOWY4YzM4Mi0yNDQ5LTQzMTEtYjcyYi0xZGY3MTY4NzkzMWUiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.ZELgDFNGhjZH9CffQKcq3sytBe2I0KciLxpBhcfstHQ",
        "not valid now",
    ),
    (
        "received after it expired",
        "https://example.com/",
        b"",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3NTYwMCwiZXhwIjoxNjI1NDc1NjYwLCJqdGkiOiI1ZjAyZjUyMi02MDMwLTQ2YzgtYjVhMy0wMTI0NjQ3OGQ4YmMiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.45MSST3B_2PsjNUeiuW54_vUQgVw4rBXrdWrOUEz3lM",
        "not valid now",
    ),
    (
        "URL with its parameters in another order",
        "https://example.com/path?foo=1&bar=2",
        b"",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiJhNzVjOTA5Ni1lODIzLTQ0MmItODVmMi03ZDNjOWQ5YjcyNmIiLCJ1cmxfaGFzaCI6IjZhMDIyZDgzNGMxODMzMGJhYWQ4YTJiZDYxMzUxNzNlZDIxNjEwYTQ1NDUxNmJlMGRmM2YxY2MwMTUxNjEwZWEifQ.z6Sw1XQIM0wuEQGBhXBdawDIIrtMg2XnmA_bpDq53pE",
        "url_hash",
    ),
    (
        "payload does not match",
        "https://example.com/",
        b"Hello, World!",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiIxNDUwMTUzMi05NmYyLTQ2ODQtOTgzMi02OGYwOTUxYWUzNDIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDciLCJwYXlsb2FkX2hhc2giOiJmYjYyZjAyYWNkYTdkNzQxNzdhNzAxYTFjZTAwNmU2YmFjZDkwYzdkNGQ3YWI0ODE2OTJjMWRhNDdjODEwNzZiIn0.m79RCwO6dGa9pvzsQypkVuXQ6eM0CkRl6_U7MfWg6TM",
        "payload_hash",
    ),
]


class _Frozen(datetime):
    @classmethod
    def now(cls, tz=None):
        return MB_NOW


@pytest.mark.parametrize(
    ("url", "body", "token", "problem"), [v[1:] for v in MB_VECTORS], ids=[v[0] for v in MB_VECTORS]
)
def test_messagebird_official_vectors(url, body, token, problem):
    headers = {"MessageBird-Signature-JWT": token}
    # PyJWT reads the clock through jwt.api_jwt.datetime (the SDK's own test patches utcnow,
    # which PyJWT 2.x no longer calls).
    with mock.patch("jwt.api_jwt.datetime", _Frozen):
        assert messagebird_sdk(MB_SECRET, Req("POST", url, body, headers=headers)) is (
            problem is None
        )
    # The vectors sign "Hello, World!": a body that is no form or JSON, so not through the door.
    request = Incoming(
        "POST", url, headers={k.lower(): v for k, v in headers.items()}, raw_body=body
    )
    found = _refused(signatures.messagebird, request, MB_SECRET, now=MB_NOW.timestamp())
    assert found is None if problem is None else problem in found, found


def _refused(check, *args, **kwargs) -> str | None:
    try:
        check(*args, **kwargs)
    except signatures.Refused as refused:
        return str(refused)
    return None


def test_messagebird_expired_token_is_refused():
    scheme = SCHEMES["messagebird"]
    assert "not valid now" in agree(scheme, messagebird_signed(scheme.key, time.time() - 120))


def test_a_token_without_a_signature_algorithm_is_refused():
    token = jwt.encode({"iss": "MessageBird"}, key=None, algorithm="none")
    req = Req("POST", URL, MESSAGEBIRD_BODY, JSON, {"MessageBird-Signature-JWT": token})
    assert "not one of" in ours(SCHEMES["messagebird"], "k", req)


# --- GatewayAPI ---------------------------------------------------------------------------

# onlinecity/gatewayapi-docs@03d59bff docs/rest.rst (via tests/buffer/documented/gatewayapi.json)
GWAPI_DOC_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjox"
    "NTIyNzY0MDYyLCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVs"
    "bCwiY2FsbGJhY2tfdXJsIjoiaHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.KdfDH65bnQtgxEkFnpAQod"
    "OciAJedZFB13r9wEo8t3Y"
)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the docs' key
@pytest.mark.parametrize(("secret", "valid"), [("secret", True), ("not-the-secret", False)])
def test_gatewayapi_documented_token(secret, valid):
    dsn = jwt.decode(GWAPI_DOC_TOKEN, "secret", algorithms=["HS256"])
    req = Req("POST", URL, json.dumps(dsn).encode(), JSON, {"X-Gwapi-Signature": GWAPI_DOC_TOKEN})
    assert (agree(SCHEMES["gatewayapi"], req, secret) is None) is valid


def test_gatewayapi_body_field_the_token_does_not_carry_is_refused():
    scheme = SCHEMES["gatewayapi"]
    signed = scheme.signed(scheme.key)
    added = dataclasses.replace(signed, body=json.dumps({**GATEWAYAPI_DSN, "extra": 1}).encode())
    assert "'extra'" in agree(scheme, added)
