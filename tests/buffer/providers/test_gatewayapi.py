"""GatewayAPI: its documented delivery status notification over HTTP, on SQLite and
PostgreSQL."""

import json

from .documented import Callback, documented, served

# onlinecity/gatewayapi-docs@03d59bf…:docs/rest.rst (https://gatewayapi.com/docs/rest.html)
DELIVERED = documented("gatewayapi", "Callback example")


def failed(status: str, code: str, error: str, message_id: int) -> Callback:
    """No failed notification is documented: the documented one with a documented failure
    status and the optional error/code fields (code from
    onlinecity/gatewayapi-docs@0685bfa…:docs/errors.rst)."""
    body = {**json.loads(DELIVERED.body), "id": message_id, "status": status}
    body.update(code=code, error=error)
    return Callback(DELIVERED.source, "POST", "application/json", body=json.dumps(body))


def test_the_documented_notification_is_acknowledged(buffer_server):
    answer = DELIVERED.send(buffer_server, "gatewayapi")
    assert answer.json() == {"result": "acknowledged", "messageId": "1000001"}
    assert served(buffer_server) == {}


def test_failures_are_served_soft_and_hard(buffer_server):
    assert (
        failed("UNDELIVERABLE", "0x1013", "Absent subscriber", 1)
        .send(buffer_server, "gatewayapi")
        .ok
    )
    assert (
        failed("UNDELIVERABLE", "0x1010", "Unknown subscriber", 2)
        .send(buffer_server, "gatewayapi")
        .ok
    )
    assert failed("EXPIRED", "", "", 3).send(buffer_server, "gatewayapi").ok
    common = {"recipient": "+4587654321", "timestamp": "20151213094640"}
    assert served(buffer_server) == {
        "1": {
            **common,
            "statusCode": "0x1013",
            "statusText": "Absent subscriber",
            "type": "Temporary",
        },
        "2": {
            **common,
            "statusCode": "0x1010",
            "statusText": "Unknown subscriber",
            "type": "Permanent",
        },
        "3": {
            **common,
            "statusCode": "",
            "statusText": "Expired: not delivered within the validity period; try again later "
            "(GatewayAPI EXPIRED)",
            "type": "Temporary",
        },
    }
