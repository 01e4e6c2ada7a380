"""Sinch: recipient delivery reports over HTTP, on SQLite and PostgreSQL.

Sinch documents no whole callback body; its official Python SDK's end-to-end steps
(sinch/sinch-sdk-python@54bdeee…:tests/e2e/sms/features/steps/webhooks.steps.py) assert the
values of the mock server's callbacks, and the SDK's RecipientDeliveryReport lists the fields
(https://developers.sinch.com/sdk/sinch-sdk-node/1.5.0/interfaces/Sms.RecipientDeliveryReport.html).
The bodies here carry exactly those values in those fields.
"""

import json

from .documented import Callback, served

SOURCE = (
    "sinch/sinch-sdk-python@54bdeee7f015b5c49cd561d3d1a5ce0ea547e13b:"
    "tests/e2e/sms/features/steps/webhooks.steps.py"
)


def report(status, code, recipient, at, **extra) -> Callback:
    body = {
        "type": "recipient_delivery_report_sms",
        "batch_id": "01W4FFL35P4NC4K35SMSBATCH9",
        "recipient": recipient,
        "code": code,
        "status": status,
        "at": at,
        **extra,
    }
    return Callback(SOURCE, "POST", "application/json", body=json.dumps(body))


def test_the_sdk_reports(buffer_server):
    delivered = report(
        "Delivered", 0, "12017777777", "2024-06-06T08:17:19.210Z",
        operator_status_at="2024-06-06T08:17:00Z", client_reference="client-ref",
    )  # fmt: skip
    assert delivered.send(buffer_server, "sinch").json()["result"] == "acknowledged"
    aborted = report("Aborted", 412, "12010000000", "2024-06-06T08:17:15.603Z")
    assert aborted.send(buffer_server, "sinch").json()["result"] == "stored"
    assert served(buffer_server) == {
        "01W4FFL35P4NC4K35SMSBATCH9": {
            "recipient": "+12010000000",
            "statusCode": "412",
            "statusText": "Unprovisioned region: the account may not send to this recipient's "
            "region (Sinch code 412)",
            "type": "Permanent",
            "timestamp": "20240606081715",
        }
    }
