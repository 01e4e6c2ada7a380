"""Vonage: its documented delivery receipts over HTTP, on SQLite and PostgreSQL. Vonage sends
a receipt's keys as a GET query or a POST form (the account's setting); the guides print them
as JSON objects."""

import json
from urllib.parse import urlencode

import pytest

from smsbounce.buffer.raw_requests import FORM
from tests.buffer.test_providers import VONAGE

from .documented import Callback, documented, served

# Nexmo/station@3ba7e67…:_documentation/en/messaging/sms/guides/delivery-receipts.md
# (https://developer.vonage.com/messaging/sms/guides/delivery-receipts): "This is a typical DLR"
TYPICAL = json.loads(documented("vonage", "This is a typical DLR").body)
# https://learn.vonage.com/blog/2020/11/18/receive-sms-delivery-receipts-with-go, quoting the
# Delivery Receipt example of https://developer.nexmo.com/api/sms: message-timestamp with an
# offset, and the signed-webhook parameters.
API_REFERENCE = {
    **VONAGE,  # the same receipt, as Vonage's .NET SDK fixture carries it
    "client-ref": "my-personal-reference",
    "message-timestamp": "2020-01-01 12:00:00 +0000",
    "timestamp": "1582650446",
    "nonce": "ec11dd3e-1e7f-4db5-9467-82b02cd223b9",
    "sig": "1A20E4E2069B609FDA6CECA9DE18D5CAFE99720DDB628BD6BE8B19942A336E1C",
}


def get(fields):
    return Callback("", "GET", query=urlencode(fields))


def post(fields):
    return Callback("", "POST", FORM, body=urlencode(fields))


@pytest.mark.parametrize("callback", [get, post], ids=["GET", "POST"])
def test_documented_receipts_and_their_failures(buffer_server, callback):
    assert callback(TYPICAL).send(buffer_server, "vonage").json()["result"] == "acknowledged"
    assert callback(API_REFERENCE).send(buffer_server, "vonage").json()["result"] == "acknowledged"
    soft = {**TYPICAL, "status": "failed", "err-code": "2"}
    # An SDK fixture's scts that is no time: message-timestamp holds a good one.
    hard = {**API_REFERENCE, "status": "rejected", "err-code": "9", "scts": "1234567890"}
    for fields in (soft, hard):
        assert callback(fields).send(buffer_server, "vonage").json()["result"] == "stored"
    assert served(buffer_server) == {
        "0B00000127FDBC63": {
            "recipient": "+447547232824",
            "statusCode": "2",
            "statusText": "Absent subscriber: the phone was temporarily unavailable (off or out "
            "of coverage); try again later (Vonage err-code 2)",
            "type": "Temporary",
            "timestamp": "20181025131000",
        },
        "0A0000001234567B": {
            "recipient": "+447700900000",
            "statusCode": "9",
            "statusText": "Illegal number: the subscriber asked not to receive messages from this "
            "service; do not send again (Vonage err-code 9)",
            "type": "Permanent",
            "timestamp": "20200101120000",
        },
    }
