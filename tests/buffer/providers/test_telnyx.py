"""Telnyx: its documented messaging webhooks over HTTP (SQLite and PostgreSQL). The recipient
and its status are in ``data.payload.to[0]``, the message id outside the list."""

import json

from .documented import Callback, documented, served

FINALIZED = documented("telnyx", "Delivery receipt (message.finalized)")
SENT = documented("telnyx", "Message sent (message.sent)")
FINALIZED_2019 = documented("telnyx", "Delivery Status Payload")
ERRORS = documented("telnyx", "FRAGMENT only")


def failed(status: str) -> Callback:
    """No whole failed webhook is documented: the documented message.finalized body with its
    recipient's status set to a documented failure state and the documented errors fragment
    (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks, 'Common delivery
    failure error codes') as its errors."""
    body = json.loads(FINALIZED.body)
    body["data"]["payload"]["to"][0]["status"] = status
    body["data"]["payload"]["errors"] = json.loads(ERRORS.body)["errors"]
    return Callback(
        FINALIZED.source + " + errors fragment", "POST", "application/json", "", json.dumps(body)
    )


def test_documented_delivery_receipts_are_acknowledged_not_served(buffer_server):
    # https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks (both examples)
    # and https://support.telnyx.com/en/articles/4334722-how-to-leverage-webhooks (2019)
    for callback in (FINALIZED, SENT, FINALIZED_2019):
        answer = callback.send(buffer_server, "telnyx")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "result": "acknowledged",
            "messageId": "ac012cbf-5e09-46af-a69a-7c0e2d90993c",
        }
    assert served(buffer_server) == {}


def test_a_delivery_failure_is_served_with_telnyx_own_words(buffer_server):
    answer = failed("delivery_failed").send(buffer_server, "telnyx")
    assert answer.json()["result"] == "stored", answer.text
    assert served(buffer_server) == {
        "ac012cbf-5e09-46af-a69a-7c0e2d90993c": {
            "recipient": "+13125550002",
            "statusCode": "40300",
            "statusText": "The destination number is not reachable on the carrier network.",
            "type": "Permanent",
            "timestamp": "20240115213214",
        }
    }


def test_an_unconfirmed_delivery_is_a_soft_bounce(buffer_server):
    body = json.loads(FINALIZED.body)
    body["data"]["payload"]["to"][0]["status"] = "delivery_unconfirmed"
    answer = Callback(FINALIZED.source, "POST", "application/json", "", json.dumps(body)).send(
        buffer_server, "telnyx"
    )
    assert answer.json()["result"] == "stored"
    [bounce] = served(buffer_server).values()
    assert (bounce["type"], bounce["statusCode"]) == ("Temporary", "")
    assert bounce["statusText"].startswith("Delivery unconfirmed")


def test_a_webhook_without_recipients_is_held_naming_what_is_missing(buffer_server):
    body = json.loads(FINALIZED.body)
    body["data"]["payload"]["to"] = []
    answer = Callback("", "POST", "application/json", "", json.dumps(body)).send(
        buffer_server, "telnyx"
    )
    # No state to read: kept for `smsbounce replay`, answered as taken (docs/spec.md §4).
    assert answer.json() == {
        "result": "quarantined",
        "messageId": "ac012cbf-5e09-46af-a69a-7c0e2d90993c",
    }
    [entry] = buffer_server.store.quarantine.entries()
    assert (entry.type, entry.parameter) == ("unmapped", "data.payload.to[0].status")
