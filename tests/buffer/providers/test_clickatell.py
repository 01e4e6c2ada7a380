"""Clickatell: SMS status callbacks, GET (query) and POST (JSON), over HTTP on SQLite and
PostgreSQL.

Clickatell documents no whole callback, only its fields
(https://help.clickatell.com/developers-api-reference/sms-client-callbacks.md: integrationName,
messageId, requestId, clientMessageId, to, from, statusCode, status, statusDescription,
timestamp — "GET with query parameters, or POST with a JSON body, same fields"); searches of its
docs and code found no example. The callbacks here are built strictly from that list, with the
statuses of https://www.clickatell.com/developers/api-documentation/one-api-message-status-codes-descriptions/
and times in milliseconds as its One API callbacks carry them.
"""

import json
from urllib.parse import urlencode

import pytest

from .documented import Callback, served

SOURCE = "https://help.clickatell.com/developers-api-reference/sms-client-callbacks.md"


def fields(message_id: str, code: int, status: str, description: str) -> dict:
    return {
        "integrationName": "smsbounce",
        "messageId": message_id,
        "requestId": "c1a8b7a3-8d8c-4a8f-9f52-5f8a7b3b2a11",
        "clientMessageId": "",
        "to": "27820000000",
        "from": "27830000000",
        "statusCode": code,
        "status": status,
        "statusDescription": description,
        "timestamp": 1700000000000,
    }


def get(body):
    return Callback(SOURCE, "GET", query=urlencode(body))


def post(body):
    return Callback(SOURCE, "POST", "application/json", body=json.dumps(body))


@pytest.mark.parametrize("callback", [get, post], ids=["GET", "POST"])
def test_callbacks_of_every_kind(buffer_server, callback):
    answers = [
        callback(fields("d1", 4, "SENT_TO_SUPPLIER", "Sent to supplier")),
        callback(fields("d2", 5, "DEVICE_ACK", "Device acknowledged")),
        callback(fields("soft-1", 20, "EXPIRED", "Message has expired")),
        callback(fields("hard-1", 29, "RECIPIENT_DOES_NOT_EXIST", "Recipient does not exist")),
    ]
    results = [c.send(buffer_server, "clickatell").json()["result"] for c in answers]
    assert results == ["acknowledged", "acknowledged", "stored", "stored"]
    common = {"recipient": "+27820000000", "timestamp": "20231114221320"}
    assert served(buffer_server) == {
        "soft-1": {
            **common,
            "statusCode": "20",
            "statusText": "Expired: the message could not be delivered before it expired; "
            "try again later (Clickatell status 20 EXPIRED)",
            "type": "Temporary",
        },
        "hard-1": {
            **common,
            "statusCode": "29",
            "statusText": "Recipient does not exist on the channel; remove the number "
            "(Clickatell status 29 RECIPIENT_DOES_NOT_EXIST)",
            "type": "Permanent",
        },
    }
