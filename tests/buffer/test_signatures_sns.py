"""AWS SNS message signatures (``aws-sns``), which no official Python library verifies.

The oracle is AWS's documented algorithm (awsdocs/amazon-sns-developer-guide,
sns-verify-signature-of-message.md), written out here on its own: the signed fields of each
message type in byte order as ``name\\nvalue\\n``, Subject only when present, signed with
SHA1withRSA (SignatureVersion 1) or SHA256withRSA (2) by the key of the certificate at
SigningCertURL — a certificate and key made here with ``cryptography``. The documentation's own
examples carry placeholder signatures (``EXAMPLE…``), so they cannot serve as vectors.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from smsbounce.buffer.errors import SignatureUnverifiable
from smsbounce.buffer.providers import Incoming, signatures

TOPIC = "arn:aws:sns:eu-central-1:123456789012:sms-events"
CERT_URL = "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
EVENT = {
    "eventType": "TEXT_PERMANENT_FAILURE",
    "messageId": "m-1",
    "destinationPhoneNumber": "+4915112345678",
}

# The fields AWS documents as signed, per message type, in the order it lists them (byte order).
DOCUMENTED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}
DOCUMENTED["UnsubscribeConfirmation"] = DOCUMENTED["SubscriptionConfirmation"]  # "the same"


def make_certificate(common_name: str = "sns.amazonaws.com"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


KEY, PEM = make_certificate()
OTHER_KEY, _ = make_certificate()


def message(kind: str = "Notification", **changes) -> dict:
    body = {
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(EVENT),
        "Timestamp": "2026-01-02T10:15:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe",
    }
    if kind != "Notification":
        body["Token"] = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a"
        body["SubscribeURL"] = "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription"
    return {**body, **changes}


def sign(body: dict, key=KEY) -> dict:
    """Sign as SNS does, following AWS's documentation step by step."""
    text = ""
    for name in DOCUMENTED[body["Type"]]:
        if name in body:  # Subject only when the message has one
            text += name + "\n" + body[name] + "\n"
    digest = hashes.SHA1() if body["SignatureVersion"] == "1" else hashes.SHA256()
    signature = key.sign(text.encode(), padding.PKCS1v15(), digest)
    return {**body, "Signature": base64.b64encode(signature).decode()}


def request(body: dict | bytes) -> Incoming:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Incoming("POST", "https://bounces.example.com/report", raw_body=raw)


class Fetches:
    """A certificate source that counts what it was asked for."""

    def __init__(self, pem: bytes = PEM):
        self.pem, self.urls = pem, []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


def check(body, fetch=None, topics=(TOPIC,)) -> str | None:
    certificates = signatures.Certificates(fetch or Fetches())
    return signatures.Signature(
        "aws-sns", "SMSBOUNCE_SNS_TOPICS", lambda r: signatures.aws_sns(r, topics, certificates)
    ).problem(request(body))


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    "body",
    [
        message(),
        message(Subject="SMS event"),
        message("SubscriptionConfirmation"),
        message("UnsubscribeConfirmation"),
    ],
    ids=["notification", "with-subject", "subscription", "unsubscribe"],
)
def test_a_message_sns_signed_is_accepted(body, version):
    assert check(sign({**body, "SignatureVersion": version})) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"Message": json.dumps({**EVENT, "eventType": "TEXT_DELIVERED"})}, "does not match"),
        ({"Subject": "added"}, "does not match"),
        ({"Timestamp": "2026-01-02T10:15:01.000Z"}, "does not match"),
        ({"SignatureVersion": "1"}, "does not match"),
        ({"Signature": None}, "does not match"),
        ({"Signature": "not base64!"}, "does not match"),
        ({"SignatureVersion": "3"}, "is not 1 or 2"),
        ({"Type": "Other"}, "not an SNS message type"),
        ({"MessageId": None}, "has no MessageId"),
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_a_tampered_message_is_refused(change, problem):
    body = {k: v for k, v in {**sign(message()), **change}.items() if v is not None}
    assert problem in check(body)


def test_a_message_signed_with_another_key_is_refused():
    assert "does not match" in check(sign(message(), OTHER_KEY))


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.eu-central-1.amazonaws.com.evil.example/SimpleNotificationService-0.pem",
        "https://evil.example/sns.eu-central-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",  # another region
        "https://sns.eu-central-1.amazonaws.com:8443/SimpleNotificationService-0.pem",
        "https://user@sns.eu-central-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.eu-central-1.amazonaws.com/?Action=Anything",
        None,
    ],
)
def test_a_certificate_anywhere_but_sns_in_the_topics_region_is_never_fetched(url):
    fetches = Fetches()
    assert "SigningCertURL" in check(sign(message(SigningCertURL=url)), fetches)
    assert fetches.urls == []


def test_a_topic_that_is_not_configured_is_refused_before_anything_is_fetched():
    fetches = Fetches()
    other = "arn:aws:sns:eu-central-1:999999999999:someone-elses"
    assert "is not one of the configured topics" in check(sign(message(TopicArn=other)), fetches)
    assert fetches.urls == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[1]"], ids=["empty", "text", "list"])
def test_a_body_that_is_no_sns_message_is_refused(body):
    assert "raw message delivery is unsigned" in check(body)


def test_the_certificate_is_fetched_once_per_url():
    fetches = Fetches()
    certificates = signatures.Certificates(fetches)
    for _ in range(3):
        signatures.aws_sns(request(sign(message())), (TOPIC,), certificates)
    assert fetches.urls == [CERT_URL]


@responses.activate
def test_the_certificate_is_fetched_over_https_without_redirects():
    responses.get(CERT_URL, body=PEM)
    assert check(sign(message()), signatures.fetch_certificate) is None
    moved = CERT_URL.replace("0123", "4567")
    responses.get(moved, status=301, headers={"Location": "https://evil.example/x.pem"})
    assert "answered HTTP 301" in check(
        sign(message(SigningCertURL=moved)), signatures.fetch_certificate
    )


@responses.activate
def test_a_url_that_is_no_certificate_is_refused():
    responses.get(CERT_URL, body=b"<html>no</html>")
    assert "not a PEM certificate" in check(sign(message()), signatures.fetch_certificate)


@responses.activate
@pytest.mark.parametrize(
    "answer",
    [{"body": requests.ConnectionError("down")}, {"status": 503}],
    ids=["unreachable", "503"],
)
def test_aws_out_of_reach_is_a_503_so_sns_retries(answer):
    responses.get(CERT_URL, **answer)
    with pytest.raises(SignatureUnverifiable) as raised:
        check(sign(message()), signatures.fetch_certificate)
    assert raised.value.status == 503 and raised.value.headers["Retry-After"]


@pytest.mark.parametrize("value", ["sms-events", "arn:aws:sns:eu-central-1:sms-events"])
def test_topics_that_are_no_arns_stop_the_start(value):
    block = {"scheme": "aws-sns", "topics": {"env": "SMSBOUNCE_SNS_TOPICS"}}
    with pytest.raises(ValueError, match="SMSBOUNCE_SNS_TOPICS must be topic ARNs"):
        signatures.configure(block, value)
