"""Plivo: message status callbacks, GET (query) and POST (form), over HTTP on SQLite and
PostgreSQL.

Plivo documents no whole callback, only its attributes
(https://plivo.com/docs/messaging/api/message/message-status-callbacks); searches of its docs
and official SDKs found no example either. So each callback here is built strictly from that
documented list — every attribute present, as Plivo says it sends them (form data for POST,
query parameters for GET), the times in its documented ``YYYY-mm-dd HH:MM:SS.SSSSSS`` — with
the error codes of https://plivo.com/docs/messaging/troubleshooting/error-codes.
"""

from urllib.parse import urlencode

import pytest

from smsbounce.buffer.raw_requests import FORM

from .documented import Callback, served

SOURCE = "https://plivo.com/docs/messaging/api/message/message-status-callbacks"


def attributes(status: str, error: str = "", uuid="db3ce55a-7f1d-11e1-8ea7-1231380bc196"):
    return {
        "MessageUUID": uuid,
        "To": "14155551212",
        "From": "14155550000",
        "Type": "sms",
        "Status": status,
        "Units": "1",
        "TotalRate": "0.0050",
        "TotalAmount": "0.0050",
        "MCC": "310",
        "MNC": "260",
        "ErrorCode": error,
        "ParentMessageUUID": uuid,
        "PartInfo": "1 of 1",
        "Sequence": "3",
        "MessageTime": "2024-03-20 10:00:00.123456",
        "QueuedTime": "2024-03-20 10:00:00.123456",
        "SentTime": "2024-03-20 10:00:01.654321",
        "DeliveryReportTime": "2024-03-20 10:00:05.000001",
        "requester_ip": "203.0.113.7",
        "PowerpackUUID": "",
    }


def get(fields) -> Callback:
    return Callback(SOURCE, "GET", query=urlencode(fields))


def post(fields) -> Callback:
    return Callback(SOURCE, "POST", FORM, body=urlencode(fields))


@pytest.mark.parametrize("callback", [get, post], ids=["GET", "POST"])
def test_status_callbacks_of_every_kind(buffer_server, callback):
    answers = [
        callback(attributes("queued")).send(buffer_server, "plivo"),
        callback(attributes("delivered", "000")).send(buffer_server, "plivo"),
        callback(attributes("undelivered", "20", uuid="soft-1")).send(buffer_server, "plivo"),
        callback(attributes("failed", "30", uuid="hard-1")).send(buffer_server, "plivo"),
    ]
    assert [a.json()["result"] for a in answers] == [
        "acknowledged",
        "acknowledged",
        "stored",
        "stored",
    ], [a.text for a in answers]
    assert served(buffer_server) == {
        "soft-1": {
            "recipient": "+14155551212",
            "statusCode": "20",
            "statusText": "Network error: the carrier had network issues; this is temporary, "
            "try again later (Plivo error 20)",
            "type": "Temporary",
            "timestamp": "20240320100005",
        },
        "hard-1": {
            "recipient": "+14155551212",
            "statusCode": "30",
            "statusText": "Spam detected: a carrier's spam filter blocked the message; review "
            "the content and sending volume (Plivo error 30)",
            "type": "Permanent",
            "timestamp": "20240320100005",
        },
    }
