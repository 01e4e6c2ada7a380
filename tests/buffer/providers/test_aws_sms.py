"""AWS End User Messaging SMS via Amazon SNS: the documented SNS messages and event over HTTP
(SQLite and PostgreSQL). SNS posts JSON as ``text/plain``; the event is a JSON string in the
envelope's ``Message``, or the whole body with raw message delivery."""

import json
import logging

import pytest

from tests.helpers import assert_json_error

from .documented import Callback, documented, served

# awsdocs/amazon-sns-developer-guide@155a049…:doc_source/sns-message-and-json-formats.md
# (https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html)
CONFIRMATION = documented("aws_end_user_messaging_sns", "SNS SubscriptionConfirmation")
NOTIFICATION = documented("aws_end_user_messaging_sns", "SNS Notification")
UNSUBSCRIBED = documented("aws_end_user_messaging_sns", "SNS UnsubscribeConfirmation")
# https://docs.aws.amazon.com/end-user-messaging/latest/userguide/nx-features-messaging-events.html
EVENT = documented("aws_end_user_messaging_sns", "SMS event record (TEXT_SUCCESSFUL)")


def in_envelope(event: str) -> Callback:
    """The documented SNS Notification with the documented SMS event as its Message string."""
    envelope = json.loads(NOTIFICATION.body)
    envelope["Message"] = event
    return Callback(
        NOTIFICATION.source, "POST", NOTIFICATION.content_type, "", json.dumps(envelope)
    )


def failed(event_type: str) -> str:
    """No failed event is documented: the documented event with a documented failure type
    (https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-event-types.html)."""
    event = json.loads(EVENT.body)
    event.update(eventType=event_type, messageStatus=event_type.removeprefix("TEXT_"))
    return json.dumps(event)


def test_the_subscription_confirmation_is_answered_and_the_operator_told(buffer_server, caplog):
    caplog.set_level(logging.WARNING, "smsbounce.buffer")
    answer = CONFIRMATION.send(buffer_server, "aws-sms")
    assert answer.status_code == 200, answer.text
    assert answer.json()["handshake"] == "SubscriptionConfirmation"
    body = json.loads(CONFIRMATION.body)
    assert body["SubscribeURL"] in caplog.text
    assert f"aws sns confirm-subscription --topic-arn {body['TopicArn']}" in caplog.text
    assert UNSUBSCRIBED.send(buffer_server, "aws-sms").status_code == 200
    assert served(buffer_server) == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-west-2.amazonaws.com.evil.example/?Action=ConfirmSubscription",
        "https://evil.example/?Action=ConfirmSubscription",
    ],
    ids=["not-https", "look-alike", "other-host"],
)
def test_a_handshake_not_from_sns_is_refused(buffer_server, url):
    body = json.loads(CONFIRMATION.body)
    body["SubscribeURL"] = url
    answer = Callback("", "POST", CONFIRMATION.content_type, "", json.dumps(body)).send(
        buffer_server, "aws-sms"
    )
    assert_json_error(answer, 400, "SubscribeURL")


def test_the_documented_event_is_acknowledged_in_the_envelope_and_raw(buffer_server):
    for callback in (in_envelope(EVENT.body), EVENT):
        answer = callback.send(buffer_server, "aws-sms")
        assert answer.json() == {
            "result": "acknowledged",
            "messageId": "862a8790-60c0-4430-9b2b-658bdexample",
        }, answer.text


def test_failed_events_are_served_soft_and_hard(buffer_server):
    assert in_envelope(failed("TEXT_CARRIER_UNREACHABLE")).send(buffer_server, "aws-sms").ok
    [soft] = served(buffer_server).values()
    event = json.loads(failed("TEXT_INVALID"))
    event["messageId"] = "862a8790-second"
    raw = Callback(EVENT.source, "POST", EVENT.content_type, "", json.dumps(event))
    assert raw.send(buffer_server, "aws-sms").json()["result"] == "stored"
    hard = served(buffer_server)["862a8790-second"]
    assert soft == {
        "recipient": "+14255550156",
        "statusCode": "",
        "statusText": "Carrier unreachable: a temporary error on the recipient's carrier "
        "network; try again later (AWS TEXT_CARRIER_UNREACHABLE)",
        "type": "Temporary",
        "timestamp": "20230617041143",
    }
    assert (hard["type"], hard["statusText"]) == (
        "Permanent",
        "Invalid number: the destination phone number is not valid; remove it (AWS TEXT_INVALID)",
    )


def test_a_notification_that_is_no_sms_event_names_message(buffer_server):
    # The documented generic SNS notification: its Message is "Hello world!", not an event.
    assert_json_error(NOTIFICATION.send(buffer_server, "aws-sms"), 400, "Message")
