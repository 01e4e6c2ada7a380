"""Bird (MessageBird): its documented status report (GET) over HTTP, on SQLite and PostgreSQL."""

from urllib.parse import parse_qsl, urlencode

from .documented import Callback, documented, served

# https://support.messagebird.com/hc/en-us/articles/360001869258-I-am-missing-my-delivery-reports
DELIVERED = documented("bird", "Legacy MessageBird SMS API status report")


def with_status(status: str, message_id: str, **extra) -> Callback:
    """The documented report with another documented status (expired, delivery_failed:
    https://docs.bird.com/api/channels-api/message-status-and-interactions), and the
    statusReason/statusErrorCode parameters MessageBird adds to a failure."""
    fields = dict(parse_qsl(DELIVERED.query))
    fields.update(id=message_id, status=status, **extra)
    return Callback(DELIVERED.source, "GET", query=urlencode(fields))


def test_the_documented_report_is_acknowledged(buffer_server):
    answer = DELIVERED.send(buffer_server, "bird")
    assert answer.json() == {
        "result": "acknowledged",
        "messageId": "e8077d803532c0b5937c639b60216938",
    }
    assert served(buffer_server) == {}


def test_failures_are_served(buffer_server):
    assert with_status("expired", "soft-1").send(buffer_server, "bird").ok
    assert (
        with_status(
            "delivery_failed", "hard-1", statusReason="unknown subscriber", statusErrorCode="1"
        )
        .send(buffer_server, "bird")
        .ok
    )
    assert served(buffer_server) == {
        "soft-1": {
            "recipient": "+31612345678",
            "statusCode": "",
            "statusText": "Expired: the phone was unreachable until the validity period ended; "
            "try again later (Bird status expired)",
            "type": "Temporary",
            "timestamp": "20160503085810",
        },
        "hard-1": {
            "recipient": "+31612345678",
            "statusCode": "1",
            "statusText": "unknown subscriber",
            "type": "Permanent",
            "timestamp": "20160503085810",
        },
    }
