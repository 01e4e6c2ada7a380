"""The iFlow helpers and outbound error texts, without serving HTTP."""

from __future__ import annotations

import json
import socket
import ssl

import pytest

from smsbounce.cpi_proxy.iflows import BadPackage, read_package, wire_query
from smsbounce.cpi_proxy.outbound import PKIX_BUILD, PKIX_VALIDITY, _connect_failure, describe


@pytest.mark.parametrize(
    "raw, wire",
    [
        ("startTimeUTC=20260201000000&page=0", "startTimeUTC=20260201000000&page=0"),
        ("a=%2b&b=+&c=%41&d=%zz&e='q'", "a=%2b&b=+&c=%41&d=%zz&e='q'"),
        ("a=b c", "a=b%20c"),
        ("a=\xe9", "a=%E9"),
        ("a=\x00\x7f", "a=%00%7F"),
        ("", ""),
    ],
    ids=["marketing", "untouched", "space", "latin1-byte", "controls", "empty"],
)
def test_wire_query(raw, wire):
    assert wire_query(raw) == wire


def test_read_package_reports_at_most_five_problems_and_names_the_first():
    messages = [{"messageId": "m", "recipient": "0", "sender": "S", "text": "t"}] * 7
    with pytest.raises(BadPackage) as caught:
        read_package(json.dumps({"version": "1", "messages": messages}).encode())
    assert caught.value.parameter == "messages[0].recipient"
    assert str(caught.value).endswith("(and 2 more)")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://u:p@host.example:8443/cmn/a/a.sms?x=1", "https://host.example:8443/cmn/a/a.sms"),
        ("http://[::1]:80/get", "http://[::1]:80/get"),
        ("http://host", "http://host"),
    ],
    ids=["no-credentials-no-query", "ipv6", "bare"],
)
def test_describe_hides_credentials_and_query(url, shown):
    assert describe(url) == shown


def _verify_error(code: int) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_code = code
    return error


@pytest.mark.parametrize(
    "error, text",
    [
        (_verify_error(20), PKIX_BUILD),  # unable to get local issuer certificate
        (_verify_error(18), PKIX_BUILD),  # self-signed
        (_verify_error(10), PKIX_VALIDITY),  # expired
        (_verify_error(62), "No subject alternative names matching host.example found"),
        (ssl.SSLError(1, "wrong version number"), "javax.net.ssl.SSLHandshakeException: "),
        (ConnectionRefusedError(111, "Connection refused"), "java.net.ConnectException: "),
        (TimeoutError("timed out"), "java.net.SocketTimeoutException: connect timed out"),
        (socket.gaierror(-2, "Name not known"), "java.net.UnknownHostException: host.example"),
        (OSError(113, "No route to host"), "java.net.ConnectException: No route to host"),
    ],
    ids=[
        "no-issuer",
        "self-signed",
        "expired",
        "hostname",
        "handshake",
        "refused",
        "timeout",
        "dns",
        "no-route",
    ],
)
def test_connect_failures_read_like_java(error, text):
    assert text in _connect_failure(error, "host.example")
