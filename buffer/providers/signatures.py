"""Providers' signatures over their callbacks: one check per scheme.

Each check is pure — the request's parts (``Incoming``), the configured key and the time in; why
the request is not the provider's out, or None — except that AWS SNS names a certificate to
fetch, which ``Certificates`` does once per URL. A profile's ``signature`` block names the
scheme and the variable that holds its key (docs/providers.md, "Signatures"); ``configure``
turns it into a ``Signature``. Each scheme is proven in the tests against the provider's own
SDK, never against a second copy of this code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..errors import SignatureUnverifiable
from .base import Incoming

Check = Callable[[Incoming], None]  # raises Refused

TELNYX_TOLERANCE = 300  # seconds a Telnyx timestamp may be off, as Telnyx's SDKs allow
JWT_LEEWAY = 1  # seconds of clock skew on a JWT's nbf and exp, as MessageBird's SDK allows


class Refused(Exception):
    """Why a request is not the provider's (raised inside a check, returned by it)."""


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _hmac_b64(secret: str, data: bytes, digest) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, digest).digest()).decode()


def _header(incoming: Incoming, name: str) -> str:
    value = incoming.headers.get(name.lower())
    if not value:
        raise Refused(f"{name} is missing")
    return value


# --- Twilio -------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """HMAC-SHA1 over the URL Twilio called followed by every POST parameter (name + value,
    sorted by name), base64."""
    data = url + "".join(name + value for name, value in sorted(params))
    return _hmac_b64(auth_token, data.encode(), hashlib.sha1)


def twilio(incoming: Incoming, auth_token: str) -> None:
    given = _header(incoming, "X-Twilio-Signature")
    if not _equal(given, twilio_signature(auth_token, incoming.url, incoming.raw_form)):
        raise Refused(
            "X-Twilio-Signature does not match (check SMSBOUNCE_PUBLIC_URL and the token)"
        )


# --- Plivo --------------------------------------------------------------------------------


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def plivo_v3_base(method: str, url: str, form: Iterable[tuple[str, str]]) -> str:
    """What Plivo's V3 signature covers, before ``.<nonce>``: the URL without its query, then
    ``?`` and its query parameters sorted (``k=v&…``, decoded); for a POST with a body, a ``.``
    after a non-empty query, then every form parameter sorted, name and value run together."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    query = "&".join(
        "&".join(f"{name}={value}" for value in sorted(values))
        for name, values in sorted(parse_qs(parts.query, keep_blank_values=True).items())
    )
    params = _grouped(form) if method == "POST" else {}
    if not params:
        return base + ("?" + query if query else "")
    body = "".join(
        "".join(name + value for value in sorted(values)) for name, values in sorted(params.items())
    )
    return base + "?" + query + ("." if query else "") + body


def _plivo(incoming: Incoming, version: str, data: str, auth_token: str) -> None:
    header = f"X-Plivo-Signature-{version}"
    nonce = _header(incoming, header + "-Nonce")
    expected = _hmac_b64(auth_token, (data + nonce).encode(), hashlib.sha256)
    # The account's and the main account's signatures; each header may list several.
    given = ",".join(
        incoming.headers.get(name.lower(), "")
        for name in (header, f"X-Plivo-Signature-Ma-{version}")
    )
    if not given.strip(","):
        raise Refused(f"{header} is missing")
    if not any(_equal(one.strip(), expected) for one in given.split(",")):
        raise Refused(f"{header} does not match (check SMSBOUNCE_PUBLIC_URL and the auth token)")


def plivo_v3(incoming: Incoming, auth_token: str) -> None:
    data = plivo_v3_base(incoming.method, incoming.url, incoming.raw_form) + "."
    _plivo(incoming, "V3", data, auth_token)


def plivo_v2(incoming: Incoming, auth_token: str) -> None:
    parts = urlsplit(incoming.url)
    _plivo(incoming, "V2", urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), auth_token)


# --- Telnyx -------------------------------------------------------------------------------


def telnyx_key(value: str) -> Ed25519PublicKey:
    """The Ed25519 public key from Telnyx's portal (base64 of 32 bytes); ValueError if not."""
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"is {len(raw)} bytes, not the 32 of an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw)


def telnyx(incoming: Incoming, public_key: Ed25519PublicKey, now: float | None = None) -> None:
    """Ed25519 over ``<telnyx-timestamp>|<body>``; the timestamp within 300 s of now."""
    signature = _header(incoming, "telnyx-signature-ed25519")
    stamp = _header(incoming, "telnyx-timestamp")
    try:
        off = abs((time.time() if now is None else now) - int(stamp))
    except ValueError:
        raise Refused("telnyx-timestamp is not a Unix time") from None
    if off > TELNYX_TOLERANCE:
        raise Refused(f"telnyx-timestamp is {off:.0f} s away from now (at most 300)")
    try:
        public_key.verify(base64.b64decode(signature), stamp.encode() + b"|" + incoming.raw_body)
    except (binascii.Error, InvalidSignature):
        raise Refused("telnyx-signature-ed25519 does not match (check the public key)") from None


# --- Vonage -------------------------------------------------------------------------------

VONAGE_ALGORITHMS = ("md5-hash", "hmac-md5", "hmac-sha1", "hmac-sha256", "hmac-sha512")


def vonage_params(incoming: Incoming) -> dict[str, Any]:
    """The parameters Vonage signed, names as sent: the query of a GET, a POST's form or JSON."""
    if incoming.method == "GET":
        return dict(parse_qsl(incoming.raw_query, keep_blank_values=True))
    if isinstance(incoming.json, Mapping):
        return dict(incoming.json)
    return dict(incoming.raw_form)


def vonage_signature(params: Mapping[str, Any], secret: str, algorithm: str) -> str:
    """Every parameter but ``sig`` sorted by name as ``&name=value`` (``&`` and ``=`` in a value
    written ``_``); then md5 of that and the secret (``md5-hash``) or an HMAC of it; hex."""
    data = "".join(
        "&{}={}".format(name, str(value).replace("&", "_").replace("=", "_"))
        for name, value in sorted(params.items())
        if name != "sig"
    ).encode()
    if algorithm == "md5-hash":
        return hashlib.md5(data + secret.encode()).hexdigest()  # noqa: S324 (Vonage's scheme)
    return hmac.new(secret.encode(), data, algorithm.removeprefix("hmac-")).hexdigest()


def vonage(incoming: Incoming, secret: str, algorithm: str) -> None:
    params = vonage_params(incoming)
    given = params.get("sig")
    if not isinstance(given, str) or not given:
        raise Refused("sig is missing")
    if not _equal(given.lower(), vonage_signature(params, secret, algorithm)):
        raise Refused(f"sig does not match (check the signature secret and {algorithm!r})")


# --- JSON Web Tokens (MessageBird, GatewayAPI) ------------------------------------------

_JWT_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_claims(token: str, secret: str, algorithms: Iterable[str], header: str) -> dict:
    """The claims of an HMAC-signed JWT whose signature verifies under ``secret`` with one of
    ``algorithms``; Refused naming ``header`` otherwise. No claim is checked here."""
    try:
        head, body, signature = token.split(".")
        alg = json.loads(_b64url(head)).get("alg")
        claims = json.loads(_b64url(body))
        given = _b64url(signature)
    except (ValueError, AttributeError, binascii.Error):
        raise Refused(f"{header} is not a JSON Web Token") from None
    if alg not in algorithms or not isinstance(claims, dict):
        raise Refused(f"{header}: algorithm {alg!r} is not one of {', '.join(algorithms)}")
    expected = hmac.new(secret.encode(), f"{head}.{body}".encode(), _JWT_DIGESTS[alg]).digest()
    if not hmac.compare_digest(given, expected):
        raise Refused(f"{header} does not match (check the signing key)")
    return claims


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def messagebird(incoming: Incoming, signing_key: str, now: float | None = None) -> None:
    """A JWT (HS256/384/512, issuer MessageBird) in MessageBird-Signature-JWT, valid now (nbf,
    exp), whose url_hash and payload_hash are the SHA-256 of the URL called and of the body."""
    header = "MessageBird-Signature-JWT"
    claims = jwt_claims(_header(incoming, header), signing_key, ("HS256", "HS384", "HS512"), header)
    now = time.time() if now is None else now
    if claims.get("iss") != "MessageBird":
        raise Refused(f"{header}: the issuer is not MessageBird")
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in (nbf, exp)):
        raise Refused(f"{header}: nbf and exp are required")
    if nbf > now + JWT_LEEWAY or exp <= now - JWT_LEEWAY:
        raise Refused(f"{header} is not valid now (nbf {nbf}, exp {exp})")
    if not _equal(str(claims.get("url_hash", "")), _sha256_hex(incoming.url.encode())):
        raise Refused(f"{header}: url_hash does not match the URL (check SMSBOUNCE_PUBLIC_URL)")
    payload_hash = claims.get("payload_hash")
    if bool(incoming.raw_body) != bool(payload_hash) or (
        payload_hash and not _equal(str(payload_hash), _sha256_hex(incoming.raw_body))
    ):
        raise Refused(f"{header}: payload_hash does not match the body")


def gatewayapi(incoming: Incoming, secret: str) -> None:
    """A JWT (HS256) in X-Gwapi-Signature whose claims are the report: every field of the JSON
    body must be a claim of the same value (the body itself is not hashed)."""
    header = "X-Gwapi-Signature"
    claims = jwt_claims(_header(incoming, header), secret, ("HS256",), header)
    try:
        body = json.loads(incoming.raw_body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refused(f"{header}: the body is not a JSON object to compare with the token")
    for name, value in body.items():
        if name not in claims or claims[name] != value:
            raise Refused(f"{header} does not sign the body's {name!r}")


# --- AWS SNS ------------------------------------------------------------------------------

_SNS_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SNS_SIGNED["UnsubscribeConfirmation"] = _SNS_SIGNED["SubscriptionConfirmation"]
_SNS_HOST = re.compile(r"sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?")
SNS_CERTIFICATE_TIMEOUT = 5.0  # seconds; the provider's request waits for it


def sns_string_to_sign(message: Mapping[str, Any]) -> bytes:
    """``name\\nvalue\\n`` for each signed field of the message's type, in byte order; Subject
    only when the message has one. Refused for a type SNS does not sign this way."""
    names = _SNS_SIGNED.get(message.get("Type"))  # type: ignore[arg-type]
    if names is None:
        raise Refused(f"Type {message.get('Type')!r} is not an SNS message type")
    lines = []
    for name in names:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise Refused(f"the SNS message has no {name}")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


def sns_certificate_url(url: Any, topic_arn: str) -> str:
    """``url`` if it is an https URL of a ``.pem`` on SNS's host in the topic's region."""
    parts = urlsplit(url if isinstance(url, str) else "")
    match = _SNS_HOST.fullmatch(parts.hostname or "")
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
    if (
        parts.scheme != "https"
        or not match
        or match.group(1) != region
        or parts.port is not None
        or parts.username is not None
        or parts.query
        or not parts.path.endswith(".pem")
    ):
        raise Refused(
            f"SigningCertURL {url!r} is not an https .pem on sns.<the topic's region>.amazonaws.com"
        )
    return url


def aws_sns(incoming: Incoming, topics: tuple[str, ...], public_key: Callable[[str], Any]) -> None:
    """An SNS message (the JSON body) from one of ``topics``, signed (SignatureVersion 1:
    SHA1withRSA, 2: SHA256withRSA) by the certificate at its SigningCertURL."""
    try:
        message = json.loads(incoming.raw_body)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise Refused("the body is not an SNS message (JSON); raw message delivery is unsigned")
    topic = message.get("TopicArn")
    if topic not in topics:
        raise Refused(f"TopicArn {topic!r} is not one of the configured topics")
    # SignatureVersion 1 is SHA1withRSA: AWS's choice for the topic, not ours.
    versions = {"1": hashes.SHA1(), "2": hashes.SHA256()}  # noqa: S303
    digest = versions.get(message.get("SignatureVersion"))
    if digest is None:
        raise Refused(f"SignatureVersion {message.get('SignatureVersion')!r} is not 1 or 2")
    data = sns_string_to_sign(message)
    url = sns_certificate_url(message.get("SigningCertURL"), topic)
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
        public_key(url).verify(signature, data, padding.PKCS1v15(), digest)
    except (binascii.Error, InvalidSignature):
        raise Refused("Signature does not match the message and its certificate") from None


def fetch_certificate(url: str) -> bytes:
    """The PEM at ``url``; SignatureUnverifiable (503) when AWS cannot be reached."""
    try:
        response = requests.get(url, timeout=SNS_CERTIFICATE_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise SignatureUnverifiable(
            f"the SNS signing certificate could not be fetched: {exc}"
        ) from None
    if response.status_code >= 500:
        raise SignatureUnverifiable(
            f"the SNS signing certificate could not be fetched: HTTP {response.status_code}"
        )
    if response.status_code != 200:
        raise Refused(f"SigningCertURL answered HTTP {response.status_code}")
    return response.content


class Certificates:
    """The public keys of SNS signing certificates by URL, each fetched once (the latest
    ``size`` kept): SNS signs every message with one of a handful."""

    def __init__(self, fetch: Callable[[str], bytes] = fetch_certificate, size: int = 16):
        self.fetch, self.size = fetch, size
        self._keys: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, url: str):
        with self._lock:
            if url in self._keys:
                self._keys.move_to_end(url)
                return self._keys[url]
        try:
            key = x509.load_pem_x509_certificate(self.fetch(url)).public_key()
        except ValueError:
            raise Refused("SigningCertURL is not a PEM certificate") from None
        if not isinstance(key, RSAPublicKey):
            raise Refused("SigningCertURL's certificate has no RSA key")
        with self._lock:
            self._keys[url] = key
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)
        return key


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A profile's configured signature: its scheme, the variable holding its key, and the
    check (None: the variable is not set, nothing is checked)."""

    scheme: str
    variable: str
    check: Check | None = None

    def problem(self, incoming: Incoming) -> str | None:
        """Why the request is not the provider's, or None (also when nothing is checked)."""
        if self.check is None:
            return None
        try:
            self.check(incoming)
        except Refused as refused:
            return str(refused)
        return None

    def describe(self) -> str:
        if self.check is None:
            return f"{self.scheme}, not checked: {self.variable} is not set"
        return f"{self.scheme}, checked with {self.variable}"


KEY_PROPERTIES = ("secret", "publicKey", "topics")


def variable(block: Mapping[str, Any]) -> str:
    """The name of the variable a (valid) signature block reads its key from."""
    return next(block[key]["env"] for key in KEY_PROPERTIES if key in block)


def configure(block: Mapping[str, Any], value: str | None) -> Signature:
    """The check a (schema-valid) ``signature`` block describes, keyed with ``value`` (the
    variable's; None: not set). ValueError naming the variable for a key that cannot be one."""
    scheme, name = block["scheme"], variable(block)
    if value is None:
        return Signature(scheme, name)
    if scheme == "telnyx":
        try:
            key = telnyx_key(value)
        except ValueError as exc:
            raise ValueError(f"{name} {exc} (Telnyx's public key, base64)") from None
        return Signature(scheme, name, lambda incoming: telnyx(incoming, key))
    if scheme == "aws-sns":
        topics = tuple(t.strip() for t in value.split(",") if t.strip())
        if not all(t.startswith("arn:aws") and t.count(":") == 5 for t in topics):
            raise ValueError(f"{name} must be topic ARNs (arn:aws:sns:<region>:<account>:<name>)")
        certificates = Certificates()
        return Signature(scheme, name, lambda incoming: aws_sns(incoming, topics, certificates))
    if scheme == "vonage":
        algorithm = block["algorithm"]
        return Signature(scheme, name, lambda incoming: vonage(incoming, value, algorithm))
    check = {
        "twilio": twilio,
        "plivo-v3": plivo_v3,
        "plivo-v2": plivo_v2,
        "messagebird": messagebird,
        "gatewayapi": gatewayapi,
    }[scheme]
    return Signature(scheme, name, lambda incoming: check(incoming, value))
