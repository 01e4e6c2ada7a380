"""The CPI proxy over real HTTP: auth, the status redirect, the send iFlow, and target failures."""

from __future__ import annotations

import base64
import json
import socket
import ssl

import pytest
import requests

from smsbounce import contracts
from smsbounce.cpi_proxy.di_send import Order, write_body
from tests.cpi_proxy.helpers import (
    BUFFER_CREDENTIALS,
    INGEST_URL,
    MARKETING,
    NO_ROLE,
    PROVIDER_CREDENTIALS,
    PROVIDER_PATH,
    Reply,
    Servers,
    di_error,
    make_tls,
    order_answer,
    package,
    proxy_settings,
    raw_get,
)
from tests.helpers import assert_json_error

STATUS = "/http/hybris_sms/status"
SEND = "/http/hybris_sms/sms"
MARKETING_QUERY = "startTimeUTC=20260201000000&endTimeUTC=20260201001000&page=0&sourceSystem=MC1"
BUFFER_PAGE = (
    b'{"page": "0", "lastPage": true, "status": [{"messageId": "1634731244", '
    b'"recipient": "+49123456789", "statusCode": "0x4503", "statusText": "out of coverage", '
    b'"type": "Permanent", "timestamp": "20180424092754"}]}'
)


@pytest.fixture
def servers():
    with Servers() as started:
        yield started


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("keystore"))


@pytest.fixture
def session():
    with requests.Session() as session:
        yield session


@pytest.fixture
def buffer(servers):
    return servers.target(lambda seen: Reply(200, "application/json", BUFFER_PAGE))


def recipient_of(seen) -> str:
    return seen.body.decode().split("\r\n")[3].removeprefix("List=")


@pytest.fixture
def provider(servers):
    """DI answering every order with an ORDERID made from the recipient: 49151... -> 9151..."""
    return servers.target(lambda seen: order_answer(recipient_of(seen)[2:]))


@pytest.fixture
def proxy(servers, buffer, provider):
    return servers.proxy(proxy_settings(buffer.url, provider.url + PROVIDER_PATH))


def failure_text(response, status=500) -> str:
    message = assert_json_error(response, status)["message"]
    assert message.startswith("An internal server error occured: ")
    assert "The MPL ID for the failed message is : AG" in message
    return message


# --- inbound authentication and addresses --------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [None, ("marketing", "wrong"), ("nobody", "mc-pass"), ("", "")],
    ids=["missing", "wrong-password", "unknown-user", "empty"],
)
@pytest.mark.parametrize("method, path", [("GET", STATUS), ("POST", SEND), ("GET", "/nowhere")])
def test_wrong_or_missing_credentials_are_401(session, proxy, buffer, auth, method, path):
    response = session.request(method, proxy.url + path, auth=auth, json={})
    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert buffer.seen == []


@pytest.mark.parametrize("method, path", [("GET", STATUS), ("POST", SEND)])
def test_a_user_without_the_role_is_403(session, proxy, buffer, provider, method, path):
    response = session.request(method, proxy.url + path, auth=NO_ROLE, json=package({}))
    error = assert_json_error(response, 403)
    assert "ESBMessaging.send" in error["message"]
    assert buffer.seen == [] and provider.seen == []


def test_the_required_role_is_a_setting(session, servers, buffer, provider):
    settings = proxy_settings(buffer.url, provider.url, role="Other.role")
    proxy = servers.proxy(settings)
    assert session.get(proxy.url + STATUS, auth=NO_ROLE).status_code == 200
    assert_json_error(session.get(proxy.url + STATUS, auth=MARKETING), 403)


@pytest.mark.parametrize(
    "path", ["/nowhere", "/http/hybris_sms/status/more", "/http/other/status", "/"]
)
def test_an_unknown_address_is_404(session, proxy, path):
    assert_json_error(session.get(proxy.url + path, auth=MARKETING), 404)


@pytest.mark.parametrize("method, path", [("POST", STATUS), ("GET", SEND), ("PUT", SEND)])
def test_a_wrong_method_is_405(session, proxy, method, path):
    response = session.request(method, proxy.url + path, auth=MARKETING)
    assert_json_error(response, 405)
    assert response.headers["Allow"]


# --- status redirect ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        MARKETING_QUERY,
        "",
        "page=1",
        # Escapes keep their case, '+' stays '+', unusual but legal bytes pass untouched.
        "sourceSystem=a%2bb+c&x=%41%7e~&y='q'&z=a%2Fb&empty=&flag",
        "page=0&page=1",
    ],
    ids=["marketing", "none", "page-only", "odd-bytes", "repeated"],
)
def test_status_passes_the_query_through_byte_for_byte(proxy, buffer, query):
    target = STATUS + (f"?{query}" if query else "")
    response = raw_get(proxy.url, target, auth=MARKETING)
    assert response.status_code == 200, response.text
    (seen,) = buffer.seen
    assert seen.method == "GET"
    assert seen.path == "/api/v1/notifications/get"
    assert seen.raw_query == query


def test_status_encodes_only_bytes_that_cannot_stand_in_a_request_line(proxy, buffer):
    # http.client refuses to send such a line, so the socket is written directly.
    token = base64.b64encode(":".join(MARKETING).encode()).decode()
    with socket.create_connection((proxy.host, proxy.port)) as sock:
        sock.sendall(
            b"GET " + STATUS.encode() + b"?a=\xe9&b=%zz HTTP/1.0\r\n"
            b"Authorization: Basic " + token.encode() + b"\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200"), answer
    assert buffer.seen[0].raw_query == "a=%E9&b=%zz"


def test_status_uses_the_proxys_own_credentials_towards_the_buffer(session, proxy, buffer):
    session.get(proxy.url + STATUS, auth=MARKETING)
    assert buffer.seen[0].basic_auth == BUFFER_CREDENTIALS


def test_status_relays_the_buffers_answer_unchanged(session, proxy):
    response = session.get(proxy.url + STATUS + "?" + MARKETING_QUERY, auth=MARKETING)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == BUFFER_PAGE
    contracts.validate("status-response", response.json())


def test_status_relays_other_2xx_answers_and_content_types(session, servers, provider):
    body = "ünïcode, not JSON".encode()
    buffer = servers.target(lambda seen: Reply(203, "text/plain; charset=utf-8", body))
    proxy = servers.proxy(proxy_settings(buffer.url, provider.url + PROVIDER_PATH))
    response = session.get(proxy.url + STATUS, auth=MARKETING)
    assert (response.status_code, response.content) == (203, body)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_status_keeps_a_path_prefix_of_the_buffer_url(session, servers, buffer, provider):
    proxy = servers.proxy(proxy_settings(buffer.url + "/buffer/", provider.url))
    assert session.get(proxy.url + STATUS + "?page=0", auth=MARKETING).status_code == 200
    assert buffer.seen[0].path == "/buffer/api/v1/notifications/get"


@pytest.mark.parametrize("status", [401, 400, 404, 503, 302])
def test_status_fails_like_cpi_when_the_buffer_answers_non_2xx(session, servers, provider, status):
    buffer = servers.target(lambda seen: Reply(status, "application/json", b'{"error": {}}'))
    proxy = servers.proxy(proxy_settings(buffer.url, provider.url + PROVIDER_PATH))
    message = failure_text(session.get(proxy.url + STATUS + "?page=0", auth=MARKETING))
    assert (
        f"HTTP operation failed invoking {buffer.url}/api/v1/notifications/get "
        f"with statusCode: {status}" in message
    )
    assert "page=0" not in message


def test_status_configured_path(session, servers, buffer, provider):
    settings = proxy_settings(buffer.url, provider.url, status_path="/http/sapmc_sms/status")
    proxy = servers.proxy(settings)
    assert session.get(proxy.url + "/http/sapmc_sms/status", auth=MARKETING).status_code == 200
    assert_json_error(session.get(proxy.url + STATUS, auth=MARKETING), 404)


# --- send ---------------------------------------------------------------------------------


def test_send_writes_one_di_order_per_message_and_maps_the_order_ids(session, proxy, provider):
    sent = package({"text": "Your code:\n1234"}, {"recipient": "+4917012345678"})
    response = session.post(proxy.url + SEND, json=sent, auth=MARKETING)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    answer = contracts.validate("marketing-send-response", response.json())

    assert len(provider.seen) == 2
    by_subject = {}
    for seen in provider.seen:
        assert (seen.method, seen.path) == ("POST", PROVIDER_PATH)
        assert seen.basic_auth == PROVIDER_CREDENTIALS
        assert seen.content_type == "text/plain; charset=utf-8"
        subject = seen.body.decode().split("\r\n")[1].removeprefix("Subject=")
        by_subject[subject] = seen.body
    assert (
        by_subject["MC-1"]
        == (
            "Version=2.0\r\nSubject=MC-1\r\n[MSISDN]\r\nList=+4915100000001\r\n"
            "[MESSAGE]\r\nText=Your code:\\n1234\r\n[SETUP]\r\nOriginatingAddress=ACME\r\n"
            f"AckType=Message\r\nAckReplyAddress={INGEST_URL}\r\n"
            "MobileNotification=YES\r\nValidityPeriod=2d\r\n[END]\r\n"
        ).encode()
    )

    # Each provider id is the ORDERID DI gave that message's order (the id bounces carry).
    assert answer["results"] == [
        {"messageId": "MC-1", "status": "accepted", "providerMessageId": "915100000001"},
        {"messageId": "MC-2", "status": "accepted", "providerMessageId": "917012345678"},
    ]


def test_send_body_is_exactly_what_the_writer_produces(session, proxy, provider):
    sent = package({"text": "Grüße \\ line\r\nnext", "sender": "Shop 1"})
    session.post(proxy.url + SEND, json=sent, auth=MARKETING)
    message = sent["messages"][0]
    expected = Order("MC-1", message["recipient"], message["text"], "Shop 1", INGEST_URL)
    assert provider.seen[0].body == write_body(expected).encode("utf-8")


def test_send_keeps_the_package_order_with_many_messages(session, servers, buffer):
    provider = servers.target(lambda seen: order_answer("O" + recipient_of(seen)))
    proxy = servers.proxy(
        proxy_settings(buffer.url, provider.url + PROVIDER_PATH, send_concurrency=4)
    )
    sent = package(*({} for _ in range(60)))
    answer = session.post(proxy.url + SEND, json=sent, auth=MARKETING).json()
    assert [r["providerMessageId"] for r in answer["results"]] == [
        "O" + m["recipient"] for m in sent["messages"]
    ]
    assert [r["messageId"] for r in answer["results"]] == [m["messageId"] for m in sent["messages"]]


def test_send_maps_di_error_codes_to_rejected_results(session, servers, buffer):
    replies = {
        "+4915100000001": order_answer("777"),
        "+4915100000002": di_error("6019", "Recipient list invalid: entry 1", 400),
        "+4915100000003": di_error("8000", "Service temporarily unavailable", 503),
        "+4915100000004": di_error("600F", "Authentication failed", 401),
        "+4915100000005": Reply(200, "text/html", b"<html><body>6017 Message text missing</body>"),
    }
    provider = servers.target(lambda seen: replies[recipient_of(seen)])
    proxy = servers.proxy(proxy_settings(buffer.url, provider.url + PROVIDER_PATH))
    response = session.post(proxy.url + SEND, json=package(*({} for _ in range(5))), auth=MARKETING)
    assert response.status_code == 200, response.text
    answer = contracts.validate("marketing-send-response", response.json())
    assert answer["results"] == [
        {"messageId": "MC-1", "status": "accepted", "providerMessageId": "777"},
        {
            "messageId": "MC-2",
            "status": "rejected",
            "errorCode": "6019",
            "errorText": "Recipient list invalid: entry 1",
        },
        {
            "messageId": "MC-3",
            "status": "rejected",
            "errorCode": "8000",
            "errorText": "Service temporarily unavailable",
        },
        {
            "messageId": "MC-4",
            "status": "rejected",
            "errorCode": "600F",
            "errorText": "Authentication failed",
        },
        {
            "messageId": "MC-5",
            "status": "rejected",
            "errorCode": "6017",
            "errorText": "Message text missing",
        },
    ]


def test_send_sender_setting_overrides_the_messages_sender(session, servers, buffer, provider):
    proxy = servers.proxy(proxy_settings(buffer.url, provider.url, sender="BRAND"))
    session.post(proxy.url + SEND, json=package({"sender": "Other"}), auth=MARKETING)
    assert b"\r\nOriginatingAddress=BRAND\r\n" in provider.seen[0].body


def test_send_default_ack_reply_address_is_the_buffers_ingest_url(session, servers, provider):
    proxy = servers.proxy(proxy_settings("http://buffer.example:9", provider.url, ingest_url=None))
    session.post(proxy.url + SEND, json=package({}), auth=MARKETING)
    assert (
        b"\r\nAckReplyAddress=http://buffer.example:9/api/v1/notifications/set\r\n"
        in provider.seen[0].body
    )


def test_send_path_is_a_setting(session, servers, buffer, provider):
    proxy = servers.proxy(proxy_settings(buffer.url, provider.url, send_path="/http/sapmc_sms/sms"))
    response = session.post(proxy.url + "/http/sapmc_sms/sms", json=package({}), auth=MARKETING)
    assert response.status_code == 200
    assert_json_error(session.post(proxy.url + SEND, json=package({}), auth=MARKETING), 404)


def _message(**fields):
    return {
        "messageId": "m1",
        "recipient": "+4915112345678",
        "sender": "ACME",
        "text": "hi",
        **fields,
    }


@pytest.mark.parametrize(
    "body, parameter",
    [
        (b"not json", None),
        (b"", None),
        (b"[]", None),
        (json.dumps({"messages": [_message()]}).encode(), "version"),
        (json.dumps({"version": "2", "messages": [_message()]}).encode(), "version"),
        (json.dumps({"version": "1", "messages": []}).encode(), "messages"),
        (
            json.dumps({"version": "1", "messages": [_message(recipient="0151")]}).encode(),
            "messages[0].recipient",
        ),
        (
            json.dumps({"version": "1", "messages": [_message(), {"messageId": "x"}]}).encode(),
            "messages[1].recipient",
        ),
        (
            json.dumps({"version": "1", "messages": [_message(sender="A\r\n[END]")]}).encode(),
            "messages[0].sender",
        ),
        (
            json.dumps({"version": "1", "messages": [_message()] * 1001}).encode(),
            "messages",
        ),
    ],
    ids=[
        "not-json",
        "empty",
        "array",
        "no-version",
        "version-2",
        "no-messages",
        "bad-recipient",
        "missing-field",
        "sender-line-break",
        "over-1000",
    ],
)
def test_send_rejects_a_package_breaking_the_contract_with_400(
    session, proxy, provider, body, parameter
):
    response = session.post(
        proxy.url + SEND, data=body, auth=MARKETING, headers={"Content-Type": "application/json"}
    )
    error = assert_json_error(response, 400, parameter)
    assert error["message"]
    assert provider.seen == []


def test_send_refuses_an_oversized_package_with_413(session, proxy, provider):
    response = session.post(proxy.url + SEND, data=b" " * (4 * 1024 * 1024 + 1), auth=MARKETING)
    assert_json_error(response, 413)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, "text/html", b"<html>Internal error</html>"),
        Reply(404, "text/html", b"Not found"),
    ],
    ids=["500", "404"],
)
def test_send_fails_like_cpi_when_di_answers_non_2xx_without_a_code(
    session, servers, buffer, reply
):
    provider = servers.target(lambda seen: reply)
    proxy = servers.proxy(proxy_settings(buffer.url, provider.url + PROVIDER_PATH))
    message = failure_text(session.post(proxy.url + SEND, json=package({}), auth=MARKETING))
    assert (
        f"HTTP operation failed invoking {provider.url}{PROVIDER_PATH} "
        f"with statusCode: {reply.status}" in message
    )


@pytest.mark.parametrize(
    "body",
    [b"<html><body>OK</body></html>", b"ORDERID=" + b"9" * 65],
    ids=["no-order-id", "order-id-too-long"],
)
def test_send_fails_when_di_answers_2xx_without_a_usable_order_id(session, servers, buffer, body):
    provider = servers.target(lambda seen: Reply(200, "text/html", body))
    proxy = servers.proxy(proxy_settings(buffer.url, provider.url + PROVIDER_PATH))
    message = failure_text(session.post(proxy.url + SEND, json=package({}), auth=MARKETING))
    assert "unexpected answer" in message


# --- target failures: refused, timeouts, TLS ------------------------------------------------


def test_refused_connection_is_a_cpi_500(session, servers):
    refused = servers.refused_url()
    proxy = servers.proxy(proxy_settings(refused, refused + PROVIDER_PATH))
    for response in (
        session.get(proxy.url + STATUS, auth=MARKETING),
        session.post(proxy.url + SEND, json=package({}), auth=MARKETING),
    ):
        assert "java.net.ConnectException: Connection refused" in failure_text(response)


def test_read_timeout_is_a_cpi_500(session, servers):
    silent = servers.target(hold=True)
    proxy = servers.proxy(proxy_settings(silent.url, silent.url, read_timeout=0.3))
    for response in (
        session.get(proxy.url + STATUS, auth=MARKETING),
        session.post(proxy.url + SEND, json=package({}), auth=MARKETING),
    ):
        assert "java.net.SocketTimeoutException: Read timed out" in failure_text(response)


def test_connect_timeout_is_a_cpi_500(session, servers):
    hanging = servers.unresponsive_url()
    proxy = servers.proxy(proxy_settings(hanging, hanging, connect_timeout=0.3))
    for response in (
        session.get(proxy.url + STATUS, auth=MARKETING),
        session.post(proxy.url + SEND, json=package({}), auth=MARKETING),
    ):
        assert "java.net.SocketTimeoutException: connect timed out" in failure_text(response)


def test_https_target_trusted_by_the_keystore_works(session, servers, tls):
    buffer = servers.target(
        lambda seen: Reply(200, "application/json", BUFFER_PAGE), tls=tls.server_context
    )
    provider = servers.target(lambda seen: order_answer("42"), tls=tls.server_context)
    assert buffer.url.startswith("https://")
    settings = proxy_settings(buffer.url, provider.url + PROVIDER_PATH, ca_bundle=tls.bundle)
    proxy = servers.proxy(settings)

    status = session.get(proxy.url + STATUS + "?" + MARKETING_QUERY, auth=MARKETING)
    assert (status.status_code, status.content) == (200, BUFFER_PAGE)
    assert buffer.seen[0].raw_query == MARKETING_QUERY
    assert buffer.seen[0].basic_auth == BUFFER_CREDENTIALS

    sent = session.post(proxy.url + SEND, json=package({}), auth=MARKETING)
    assert sent.json()["results"][0]["providerMessageId"] == "42"


@pytest.mark.parametrize("bundle", ["other", "system"])
def test_https_target_not_in_the_keystore_fails_with_pkix(session, servers, tls, bundle):
    target = servers.target(tls=tls.server_context)
    ca_bundle = tls.other_bundle if bundle == "other" else None
    proxy = servers.proxy(proxy_settings(target.url, target.url, ca_bundle=ca_bundle))
    for response in (
        session.get(proxy.url + STATUS, auth=MARKETING),
        session.post(proxy.url + SEND, json=package({}), auth=MARKETING),
    ):
        message = failure_text(response)
        assert (
            "PKIX path building failed: sun.security.provider.certpath."
            "SunCertPathBuilderException: unable to find valid certification path to "
            "requested target" in message
        )
    assert target.seen == []


def test_https_target_with_a_certificate_for_another_host_fails(session, servers, tls, tmp_path):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.ca.issue_cert("elsewhere.example").configure_cert(context)
    target = servers.target(tls=context)
    proxy = servers.proxy(proxy_settings(target.url, target.url, ca_bundle=tls.bundle))
    message = failure_text(session.get(proxy.url + STATUS, auth=MARKETING))
    assert "No subject alternative names matching 127.0.0.1 found" in message
