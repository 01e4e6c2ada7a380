"""Infobip: its documented delivery report over HTTP, on SQLite and PostgreSQL."""

import json

from .documented import Callback, documented, served

# infobip/infobip-api-python-client, older tests/api/test_sms_api.py::test_outbound_reports
DELIVERED = documented("infobip", "SDK webhook fixture")


def test_the_documented_report_is_acknowledged(buffer_server):
    answer = DELIVERED.send(buffer_server, "infobip")
    assert answer.json() == {
        "results": [{"result": "acknowledged", "messageId": "MESSAGE-ID-123-xyz"}]
    }


def test_an_expiry_without_an_error_is_served_with_its_status_description(buffer_server):
    # The fixture with status EXPIRED (https://www.infobip.com/docs/developer-resources/
    # api-fundamentals/message-status-codes: group 4 EXPIRED, id 15 EXPIRED_EXPIRED) and its
    # error NO_ERROR as is: Marketing must not read "No Error" as the bounce reason.
    body = json.loads(DELIVERED.body)
    body["results"][0]["status"] = {
        "groupId": 4, "groupName": "EXPIRED", "id": 15, "name": "EXPIRED_EXPIRED",
        "description": "Message expired",
    }  # fmt: skip
    expired = Callback(DELIVERED.source, "POST", "application/json", body=json.dumps(body))
    assert expired.send(buffer_server, "infobip").ok
    assert served(buffer_server) == {
        "MESSAGE-ID-123-xyz": {
            "recipient": "+41793026727",
            "statusCode": "0",
            "statusText": "Message expired",
            "type": "Temporary",
            "timestamp": "20191109160000",
        }
    }
