"""Bandwidth: its documented message-delivered and message-failed callbacks (a JSON list per
request) over HTTP, on SQLite and PostgreSQL."""

from tests.helpers import assert_json_error

from .documented import Callback, documented, served

# Bandwidth/api-docs@19c2502…:content/messaging/callbacks/messageDelivered.md
DELIVERED = [
    documented("bandwidth", "Example 1 of 4"),
    documented("bandwidth", "Example 2 of 4"),
    documented("bandwidth", "Example 4 of 4"),
]
# As documented, example 3 is not JSON (media: [""https://…""]), a typo in the docs.
BROKEN = documented("bandwidth", "Example 3 of 4")
# Bandwidth/api-docs@19093ec…:content/messaging/callbacks/messageFailed.md
FORBIDDEN = documented("bandwidth", "Example Error 1 of 2")
# As documented, a trailing comma in message.to; sent as documented, then with it removed.
TIMEOUT = documented("bandwidth", "Example Error 2 of 2")


def test_documented_deliveries_are_acknowledged(buffer_server):
    for callback in DELIVERED:
        answer = callback.send(buffer_server, "bandwidth")
        assert answer.status_code == 200, answer.text
        assert [r["result"] for r in answer.json()["results"]] == ["acknowledged"]
    assert served(buffer_server) == {}


def test_documented_examples_that_are_not_json_are_refused_naming_the_body(buffer_server):
    for callback in (BROKEN, TIMEOUT):
        assert_json_error(callback.send(buffer_server, "bandwidth"), 400)


def test_documented_failures_are_served(buffer_server):
    answer = FORBIDDEN.send(buffer_server, "bandwidth")
    assert answer.json() == {
        "results": [{"result": "stored", "messageId": "14762070468292kw2fuqty55yp2b2"}]
    }
    assert served(buffer_server)["14762070468292kw2fuqty55yp2b2"] == {
        "recipient": "+52345678903",
        "statusCode": "4432",
        "statusText": "Forbidden country: the account may not send to this country "
        "(Bandwidth 4432)",
        "type": "Permanent",
        "timestamp": "20160914182016",
    }


def test_a_receipt_timeout_is_a_soft_bounce(buffer_server):
    # The documented example with its trailing comma removed (the rest as documented).
    fixed = Callback(
        TIMEOUT.source,
        "POST",
        TIMEOUT.content_type,
        "",
        TIMEOUT.body.replace('"+12345678902",\n        ]', '"+12345678902"\n        ]'),
    )
    assert fixed.send(buffer_server, "bandwidth").json()["results"][0]["result"] == "stored"
    bounce = served(buffer_server)["14762070468292kw2fuqty55yp2b2"]
    assert (bounce["type"], bounce["statusCode"]) == ("Temporary", "9902")
    assert bounce["statusText"].startswith("Delivery receipt timed out")
