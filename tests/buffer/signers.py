"""Provider requests as each provider signs them, with its own SDK (or, where it has none, its
documented recipe), and what that SDK says of a request: shared by the signature tests."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from messagebird.error import ValidationError
from messagebird.request_validator import RequestValidator as MessageBirdValidator
from plivo.utils import validate_signature as plivo_v2_accepts
from plivo.utils.signature_v3 import (
    construct_get_url,
    construct_post_url,
    get_signature_v3,
    validate_v3_signature,
)
from telnyx.lib.webhook_verification import WebhookVerificationError, verify_webhook_signature
from twilio.request_validator import RequestValidator as TwilioValidator
from vonage_http_client.auth import Auth as VonageAuth

from smsbounce.buffer.intake import incoming
from smsbounce.buffer.raw_requests import FORM, JSON, RawRequest

BASE = "https://bounces.example.com/api/v1/providers/acme/report/t0ken-0123456789abcdef"
URL = BASE + "?ref=7"
FORM_REPORT = {"MessageUUID": "m-1", "To": "4915112345678", "Status": "failed", "ErrorCode": "30"}


@dataclasses.dataclass(frozen=True)
class Req:
    """A request as a provider sends it; ``incoming()`` is what the door makes of it."""

    method: str
    url: str
    body: bytes = b""
    content_type: str = ""
    headers: dict = dataclasses.field(default_factory=dict)

    def incoming(self):
        raw = RawRequest(
            method=self.method,
            query_string=urlsplit(self.url).query,
            content_type=self.content_type,
            body=self.body,
            url=self.url,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        return incoming(raw)

    def with_headers(self, **changes) -> Req:
        headers = {k: v for k, v in {**self.headers, **changes}.items() if v is not None}
        return dataclasses.replace(self, headers=headers)

    def replace_in_body(self, old: bytes, new: bytes) -> Req:
        assert old in self.body
        return dataclasses.replace(self, body=self.body.replace(old, new))


def form_post(url: str, params: dict, **headers) -> Req:
    return Req("POST", url, urlencode(params).encode(), FORM, headers)


# --- each scheme: how its provider signs, and what its SDK says ------------------------------


def twilio_signed(key: str, url: str = URL) -> Req:
    header = TwilioValidator(key).compute_signature(url, FORM_REPORT)
    return form_post(url, FORM_REPORT, **{"X-Twilio-Signature": header})


def twilio_sdk(key: str, req: Req) -> bool:
    params = dict(parse_qsl(req.body.decode()))
    return TwilioValidator(key).validate(req.url, params, req.headers.get("X-Twilio-Signature", ""))


NONCE = "05429567804466091622"


def plivo_v3_signed(key: str, method: str = "POST", url: str = URL) -> Req:
    if method == "GET":
        url = url + ("&" if "?" in url else "?") + urlencode(FORM_REPORT)
        base = construct_get_url(url, {}).decode()
        req = Req("GET", url)
    else:
        base = construct_post_url(url, dict(FORM_REPORT)).decode()
        req = form_post(url, FORM_REPORT)
    signature = get_signature_v3(key.encode(), base, NONCE.encode()).decode()
    return req.with_headers(
        **{"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": NONCE}
    )


def plivo_v3_sdk(key: str, req: Req) -> bool:
    params = dict(parse_qsl(req.body.decode())) if req.method == "POST" else {}
    header = req.headers.get("X-Plivo-Signature-V3", "")
    nonce = req.headers.get("X-Plivo-Signature-V3-Nonce", "")
    return validate_v3_signature(req.method, req.url, nonce, key, header, params)


def plivo_v2_signed(key: str, url: str = URL) -> Req:
    # Plivo's SDK only checks V2; the signature is made from its documented recipe and the SDK
    # must accept it before our check is asked.
    digest = hmac.new(key.encode(), (url.split("?")[0] + NONCE).encode(), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    req = form_post(url, FORM_REPORT)
    assert plivo_v2_accepts(url, NONCE, signature, key)
    return req.with_headers(
        **{"X-Plivo-Signature-V2": signature, "X-Plivo-Signature-V2-Nonce": NONCE}
    )


def plivo_v2_sdk(key: str, req: Req) -> bool:
    header = req.headers.get("X-Plivo-Signature-V2", "")
    return plivo_v2_accepts(req.url, req.headers.get("X-Plivo-Signature-V2-Nonce", ""), header, key)


TELNYX_BODY = json.dumps(
    {
        "data": {
            "event_type": "message.finalized",
            "id": "e-1",
            "payload": {"id": "m-1", "to": "+4915112345678", "status": "delivery_failed"},
        }
    }
).encode()
TELNYX_KEYS: dict[str, Ed25519PrivateKey] = {}


def telnyx_public(name: str) -> str:
    """The public key (base64, as Telnyx's portal shows it) of a key pair made for the tests."""
    private = TELNYX_KEYS.setdefault(name, Ed25519PrivateKey.generate())
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def telnyx_signed(key: str, stamp: float | None = None, url: str = URL) -> Req:
    stamp = str(int(time.time() if stamp is None else stamp))
    private = next(k for n, k in TELNYX_KEYS.items() if telnyx_public(n) == key)
    signature = base64.b64encode(private.sign(stamp.encode() + b"|" + TELNYX_BODY)).decode()
    headers = {"telnyx-signature-ed25519": signature, "telnyx-timestamp": stamp}
    return Req("POST", url, TELNYX_BODY, JSON, headers)


def telnyx_sdk(key: str, req: Req) -> bool:
    try:
        verify_webhook_signature(req.body, req.headers, key)
    except WebhookVerificationError:
        return False
    return True


VONAGE_REPORT = {
    "msisdn": "4915112345678",
    "to": "ACME",
    "network-code": "26201",
    "messageId": "0A0000001234567B",
    "price": "0.03330000",
    "status": "failed",
    "scts": "2601021015",
    "err-code": "6",
    "message-timestamp": "2026-01-02 10:15:00",
    "client-ref": "a&b=c",  # '&' and '=' are written '_' in what is signed
    "timestamp": "1767348900",
    "nonce": "7d4c3bd5-4a9c-4d6c-8e4b-8c1b2a0f3c11",
}
VONAGE_SDK_METHODS = {"hmac-md5": "md5", "hmac-sha1": "sha1", "hmac-sha256": "sha256"}
VONAGE_SDK_METHODS["hmac-sha512"] = "sha512"


def vonage_md5_hash(params: dict, secret: str) -> str:
    """Vonage's dashboard default, which its SDK cannot compute: the documented recipe, step by
    step (developer.vonage.com, Signing messages: "&akey=value&bkey=value" + secret, md5)."""
    text = ""
    for name in sorted(params):
        text += "&" + name + "=" + params[name].replace("&", "_").replace("=", "_")
    return hashlib.md5((text + secret).encode()).hexdigest()


def vonage_signed(key: str, algorithm: str, method: str = "GET", url: str = BASE) -> Req:
    if algorithm == "md5-hash":
        sig = vonage_md5_hash(VONAGE_REPORT, key)
    else:
        auth = VonageAuth(
            api_key="k", signature_secret=key, signature_method=VONAGE_SDK_METHODS[algorithm]
        )
        sig = auth.sign_params(dict(VONAGE_REPORT))
    params = {**VONAGE_REPORT, "sig": sig}
    # Vonage signs what it sends: a callback URL with a query of its own is not supported.
    if method == "GET":
        return Req("GET", url + "?" + urlencode(params))
    return form_post(url, params)


def vonage_sdk(key: str, algorithm: str, req: Req) -> bool:
    text = urlsplit(req.url).query if req.method == "GET" else req.body.decode()
    params = dict(parse_qsl(text))
    if algorithm == "md5-hash":
        return params.pop("sig", None) == vonage_md5_hash(params, key)
    auth = VonageAuth(
        api_key="k", signature_secret=key, signature_method=VONAGE_SDK_METHODS[algorithm]
    )
    return auth.check_signature(params)


MESSAGEBIRD_BODY = json.dumps(
    {"id": "m-1", "recipient": 4915112345678, "status": "failed"}
).encode()


def messagebird_token(key: str, url: str, body: bytes, nbf: float) -> str:
    claims = {"iss": "MessageBird", "nbf": int(nbf), "exp": int(nbf) + 60, "jti": "j-1"}
    claims["url_hash"] = hashlib.sha256(url.encode()).hexdigest()
    if body:
        claims["payload_hash"] = hashlib.sha256(body).hexdigest()
    return jwt.encode(claims, key, algorithm="HS256")


def messagebird_signed(key: str, nbf: float | None = None, url: str = URL) -> Req:
    token = messagebird_token(key, url, MESSAGEBIRD_BODY, time.time() if nbf is None else nbf)
    return Req("POST", url, MESSAGEBIRD_BODY, JSON, {"MessageBird-Signature-JWT": token})


def messagebird_sdk(key: str, req: Req) -> bool:
    try:
        MessageBirdValidator(key).validate_signature(
            req.headers.get("MessageBird-Signature-JWT", ""), req.url, req.body
        )
    except ValidationError:
        return False
    return True


GATEWAYAPI_DSN = {
    "id": 2381703,
    "msisdn": 4915112345678,
    "time": 1522764062,
    "status": "REJECTED",
    "error": "Destination not reachable",
    "code": "0x0b",
    "userref": None,
    "callback_url": "https://bounces.example.com/api/v1/providers/acme/report",
    "api": 4,
}


def gatewayapi_signed(key: str, url: str = URL) -> Req:
    token = jwt.encode(GATEWAYAPI_DSN, key, algorithm="HS256")
    body = json.dumps(GATEWAYAPI_DSN).encode()
    return Req("POST", url, body, JSON, {"X-Gwapi-Signature": token})


def gatewayapi_sdk(key: str, req: Req) -> bool:
    """GatewayAPI's documented check (PyJWT), and its advice: the claims are the report."""
    try:
        claims = jwt.decode(req.headers.get("X-Gwapi-Signature", ""), key, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return False
    return claims == json.loads(req.body)
