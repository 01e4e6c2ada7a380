"""The DI send body parser and DI's answers, without HTTP (simulators/provider/ini.py)."""

from __future__ import annotations

import pytest

from smsbounce.simulators.di.ini import (
    MAX_RECIPIENTS,
    DIError,
    SendRequest,
    error_answer,
    order_answer,
    parse_answer,
    parse_send,
)
from tests.simulators.di.helpers import send_body

REPLY = "https://buffer.example/api/v1/notifications/set?token=abcdefghijklmnop"

SPEC_EXAMPLE = f"""Version=2.0
Subject=campaign-42
[MSISDN]
List=+4915112345678,+4917012345678
[MESSAGE]
Text=Your code is 1234 = valid today
[SETUP]
OriginatingAddress=ACME
AckType=Message
AckReplyAddress={REPLY}
MobileNotification=YES
ValidityPeriod=2d
[END]
"""


@pytest.mark.parametrize(
    "body, expected",
    [
        pytest.param(
            SPEC_EXAMPLE,
            SendRequest(
                recipients=("+4915112345678", "+4917012345678"),
                text="Your code is 1234 = valid today",
                subject="campaign-42",
                originator="ACME",
                reply_address=REPLY,
                validity="2d",
            ),
            id="spec-example",
        ),
        pytest.param(
            SPEC_EXAMPLE.replace("\n", "\r\n").replace("[SETUP]", "[ setup ]"),
            SendRequest(
                recipients=("+4915112345678", "+4917012345678"),
                text="Your code is 1234 = valid today",
                subject="campaign-42",
                originator="ACME",
                reply_address=REPLY,
                validity="2d",
            ),
            id="crlf-and-lower-case-section",
        ),
        pytest.param(
            "[msisdn]\nlist= 4915112345678 \n[message]\ntext=hi\n[end]\n",
            SendRequest(recipients=("4915112345678",), text="hi"),
            id="minimal-no-reports-wanted",
        ),
        pytest.param(
            SPEC_EXAMPLE.replace("MobileNotification=YES", "MobileNotification=NO"),
            SendRequest(
                recipients=("+4915112345678", "+4917012345678"),
                text="Your code is 1234 = valid today",
                subject="campaign-42",
                originator="ACME",
                validity="2d",
            ),
            id="mobile-notification-off-means-no-reports",
        ),
    ],
)
def test_parse_send_accepts(body, expected):
    assert parse_send(body.encode()) == expected


@pytest.mark.parametrize(
    "body, code, detail",
    [
        pytest.param(send_body(text=""), "6017", "Text", id="empty-text"),
        pytest.param(send_body(text="   "), "6017", "Text", id="blank-text"),
        pytest.param(b"[MSISDN]\nList=+491511\n[END]\n", "6017", "Text", id="no-message"),
        pytest.param(send_body(recipients=()), "6018", "List", id="empty-list"),
        pytest.param(b"[MESSAGE]\nText=hi\n[END]\n", "6018", "List", id="no-list"),
        pytest.param(send_body(recipients=("+49abc",)), "6019", "'+49abc'", id="letters"),
        pytest.param(send_body(recipients=("+491511", "")), "6019", "entry 2", id="empty-entry"),
        pytest.param(send_body(recipients=("12",)), "6019", "3-15 digits", id="too-short"),
        pytest.param(
            send_body(recipients=("+491511", "+491511")), "6019", "twice", id="listed-twice"
        ),
        pytest.param(
            send_body(recipients=[f"+49{n:09d}" for n in range(MAX_RECIPIENTS + 1)]),
            "6019",
            "at most 1000",
            id="too-many",
        ),
        pytest.param(send_body()[:-6], "6010", "[END]", id="no-end"),
        pytest.param(send_body() + b"Text=late\n", "6010", "follow [END]", id="after-end"),
        pytest.param(b"[MMS]\nX=1\n[END]\n", "6010", "unknown section [MMS]", id="bad-section"),
        pytest.param(b"[MESSAGE]\njust words\n[END]\n", "6010", "line 2", id="not-key-value"),
        pytest.param(b"[MESSAGE]\nText=a\ntext=b\n[END]\n", "6010", "given twice", id="key-twice"),
        pytest.param(b"[MESSAGE]\nText=\xff\n[END]\n", "6010", "UTF-8", id="not-utf8"),
        pytest.param(b"x" * (256 * 1024 + 1), "6010", "larger", id="too-large"),
        pytest.param(
            send_body(reply="ftp://example/cb"), "6010", "AckReplyAddress", id="reply-not-http"
        ),
        pytest.param(
            send_body(reply="https://example/cb").replace(b"AckType=Message", b"AckType=Order"),
            "6010",
            "AckType",
            id="ack-type",
        ),
    ],
)
def test_parse_send_refuses_with_di_code(body, code, detail):
    with pytest.raises(DIError) as caught:
        parse_send(body)
    assert caught.value.code == code
    assert detail in str(caught.value)


@pytest.mark.parametrize(
    "code, status",
    [("600F", 401), ("6010", 400), ("6017", 400), ("6018", 400), ("6019", 400), ("8000", 503)],
)
def test_error_answer_carries_code_text_and_status(code, status):
    error = DIError(code, "because <reasons> & more")
    answer = error_answer(error)
    assert error.http_status == status
    parsed = parse_answer(answer)
    assert parsed["ERROR"] == code
    assert "&lt;reasons&gt; &amp; more" in parsed["ERRORTEXT"]  # HTML-escaped in an HTML body
    assert "ORDERID" not in parsed


def test_order_answer_round_trips():
    answer = order_answer("1634731244")
    assert answer.startswith("<html>")
    assert parse_answer(answer) == {"ORDERID": "1634731244"}
