"""Digital Interconnect's send body and answers, without HTTP (cpi_proxy.di_send)."""

from __future__ import annotations

import pytest

from smsbounce.cpi_proxy.di_send import (
    Order,
    OrderAccepted,
    OrderRejected,
    UnexpectedAnswer,
    encode_text,
    parse_answer,
    write_body,
)

ORDER = Order(
    subject="MC-0001",
    recipient="+4915112345678",
    text="Hello",
    sender="ACME",
    ack_reply_address="https://buffer.example/api/v1/notifications/set/Secret-token-0123456",
)


def test_write_body_is_the_spec_body_exactly():
    assert write_body(ORDER) == (
        "Version=2.0\r\n"
        "Subject=MC-0001\r\n"
        "[MSISDN]\r\n"
        "List=+4915112345678\r\n"
        "[MESSAGE]\r\n"
        "Text=Hello\r\n"
        "[SETUP]\r\n"
        "OriginatingAddress=ACME\r\n"
        "AckType=Message\r\n"
        "AckReplyAddress=https://buffer.example/api/v1/notifications/set/Secret-token-0123456\r\n"
        "MobileNotification=YES\r\n"
        "ValidityPeriod=2d\r\n"
        "[END]\r\n"
    )


@pytest.mark.parametrize(
    "text, encoded",
    [
        ("plain", "plain"),
        ("a=b; c", "a=b; c"),
        ("two\nlines", "two\\nlines"),
        ("crlf\r\nline", "crlf\\nline"),
        ("cr\rline", "cr\\nline"),
        ("blank\n\nline", "blank\\n\\nline"),
        ("unicode\u2028sep\x85nel\x0bvt\x0cff", "unicode\\nsep\\nnel\\nvt\\nff"),
        ("back\\slash", "back\\\\slash"),
        ("literal \\n stays", "literal \\\\n stays"),
        ("[END]\n[SETUP]\nAckReplyAddress=x", "[END]\\n[SETUP]\\nAckReplyAddress=x"),
        ("Grüße 👋", "Grüße 👋"),
    ],
    ids=[
        "plain",
        "equals",
        "lf",
        "crlf",
        "cr",
        "blank-line",
        "unicode-breaks",
        "backslash",
        "literal-backslash-n",
        "injection",
        "unicode",
    ],
)
def test_encode_text_leaves_one_line(text, encoded):
    assert encode_text(text) == encoded
    assert len(f"Text={encode_text(text)}".splitlines()) == 1


def test_a_multi_line_text_stays_inside_the_message_section():
    body = write_body(
        Order("s", "+4915112345678", "a\n[SETUP]\nAckReplyAddress=http://evil", "ACME", "http://b")
    )
    lines = body.split("\r\n")
    assert lines[5] == "Text=a\\n[SETUP]\\nAckReplyAddress=http://evil"
    assert body.count("[SETUP]\r\n") == 1
    assert all(len(line.splitlines()) <= 1 for line in lines)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("<html><body>\nORDERID=1634731244\n</body></html>\n", OrderAccepted("1634731244")),
        ("<HTML><BODY>ORDERID=123<BR></BODY></HTML>", OrderAccepted("123")),
        ("ORDERID=abc-9\r\n", OrderAccepted("abc-9")),
        ("orderid = 77", OrderAccepted("77")),
        (
            "<html><body>\nERROR=6019\nERRORTEXT=Recipient list invalid: entry 1 (&#x27;x&#x27;)\n"
            "</body></html>\n",
            OrderRejected("6019", "Recipient list invalid: entry 1 ('x')"),
        ),
        ("ERROR=600f\n", OrderRejected("600F", "Authentication failed")),
        ("ERROR=1234\n", OrderRejected("1234", "")),
        (
            "<html><body>6017 Message text missing</body></html>",
            OrderRejected("6017", "Message text missing"),
        ),
        ("Error 8000", OrderRejected("8000", "Error")),
        ("6018", OrderRejected("6018", "Recipient list missing")),
    ],
    ids=[
        "order",
        "order-upper-html",
        "order-plain",
        "order-spaced",
        "error-with-text",
        "error-code-only",
        "unknown-code",
        "bare-code-html",
        "bare-code-words",
        "bare-code-alone",
    ],
)
def test_parse_answer(body, expected):
    assert parse_answer(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<html><body>OK</body></html>",
        "Service is DEAD",
        "ORDERID=" + "1" * 65,
        "<html><body>ORDERID=</body></html>",
        "Year 20186 only",
    ],
    ids=["empty", "no-id", "hex-word", "id-too-long", "id-empty", "five-digits"],
)
def test_parse_answer_refuses_answers_without_a_usable_id_or_code(body):
    with pytest.raises(UnexpectedAnswer):
        parse_answer(body)


def test_the_di_simulator_reads_our_body_and_we_read_its_answers():
    from smsbounce.simulators.di import ini

    order = Order("MC-7", "+4915112345678", "a\nb", "ACME", "http://b.example/set/tok")
    parsed = ini.parse_send(write_body(order).encode())
    assert parsed.recipients == ("+4915112345678",)
    assert (parsed.subject, parsed.text, parsed.originator) == ("MC-7", "a\\nb", "ACME")
    assert (parsed.reply_address, parsed.validity) == ("http://b.example/set/tok", "2d")

    assert parse_answer(ini.order_answer("123456")) == OrderAccepted("123456")
    error = ini.DIError("6019", "entry 1 ('0') is not a phone number")
    assert parse_answer(ini.error_answer(error)) == OrderRejected(
        "6019", "Recipient list invalid: entry 1 ('0') is not a phone number"
    )
