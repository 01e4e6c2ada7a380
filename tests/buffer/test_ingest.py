"""/api/v1/notifications/set over real HTTP, on SQLite and PostgreSQL."""

import dataclasses

import pytest
import requests

from tests.helpers import (
    ARTICLE_QUERY,
    ARTICLE_RECORD,
    INGEST,
    all_bounces,
    assert_json_error,
    ingest,
    report_query,
)

TOKEN, OTHER_TOKEN = "t0ken-0123456789abcdef", "rotated-0123456789abcdef"


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def test_the_articles_example_url_verbatim(http, buffer_server):
    # Sent as the article prints it: requests escapes only the spaces; + and quotes go raw.
    response = ingest(http, buffer_server, ARTICLE_QUERY)
    assert response.status_code == 200, response.text
    assert response.json() == {"result": "stored", "messageId": "123456789"}
    assert all_bounces(http, buffer_server) == [ARTICLE_RECORD]


def test_temporary_code_is_served_as_soft_bounce(http, buffer_server):
    assert ingest(http, buffer_server, report_query(status="0xDBF3 retrying")).status_code == 200
    [bounce] = all_bounces(http, buffer_server)
    assert (bounce["type"], bounce["statusCode"], bounce["statusText"]) == (
        "Temporary",
        "0xDBF3",
        "retrying",
    )


@pytest.mark.parametrize(
    "status", ["0x451A delivered", "0x450E accepted", "0x450A SMSC ack", "Message delivered"]
)
def test_success_and_intermediate_reports_are_acknowledged_not_served(http, buffer_server, status):
    response = ingest(http, buffer_server, report_query(status=status))
    assert response.status_code == 200
    assert response.json() == {"result": "acknowledged", "messageId": "1000001"}
    assert all_bounces(http, buffer_server) == []


def test_parameter_names_are_case_insensitive(http, buffer_server):
    query = report_query().replace("orderID", "ORDERID").replace("msisdn", "MSISDN")
    assert ingest(http, buffer_server, query).json()["result"] == "stored"


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"orderID": None}, "orderID"),
        ({"orderID": "x" * 65}, "orderID"),
        ({"time": None}, "time"),
        ({"time": "99"}, "time"),
        ({"date": None}, "date"),
        ({"date": "32012026"}, "date"),
        ({"msisdn": None}, "msisdn"),
        ({"msisdn": "not-a-number"}, "msisdn"),
        ({"status": None}, "status"),
        ({"status": ""}, "status"),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else value,
)
def test_missing_or_malformed_parameter_is_a_400_naming_it_and_stores_nothing(
    http, buffer_server, overrides, parameter
):
    error = assert_json_error(
        ingest(http, buffer_server, report_query(**overrides)), 400, parameter
    )
    assert parameter in error["message"]
    assert all_bounces(http, buffer_server) == []


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [
        (report_query() + "&orderid=2", 400, "orderid"),
        (report_query() + "".join(f"&x{i}=1" for i in range(60)), 400, None),
        (report_query(status="x") + "%FF%FE", 400, "status"),
        (report_query(status="x" * 1001), 400, "status"),
        (report_query(status="x" * 2100), 414, None),
    ],
    ids=["repeated-key", "too-many-parameters", "undecodable", "long-value", "long-query"],
)
def test_bounded_input(http, buffer_server, query, status, parameter):
    assert_json_error(ingest(http, buffer_server, query), status, parameter)
    assert all_bounces(http, buffer_server) == []


def test_a_report_with_as_many_parameters_as_plivo_sends_is_taken(http, buffer_server):
    # Plivo's documented GET callback carries up to 19 parameters; the limit is 64.
    query = report_query(orderID="many") + "".join(f"&x{i}=1" for i in range(14))
    assert ingest(http, buffer_server, query).json()["result"] == "stored"
    assert [b["messageId"] for b in all_bounces(http, buffer_server)] == ["many"]


def test_wrong_method_and_unknown_path_answer_json(http, buffer_server):
    error = assert_json_error(http.post(buffer_server.url + INGEST, data="x"), 405)
    assert "GET" in http.post(buffer_server.url + INGEST).headers["Allow"]
    assert error["message"] == "method not allowed"
    assert_json_error(http.get(buffer_server.url + "/api/v1/nothing"), 404)


def test_token_in_path_or_parameter_when_tokens_are_configured(http, start_buffer, buffer_settings):
    server = start_buffer(dataclasses.replace(buffer_settings, ingest_tokens=(TOKEN, OTHER_TOKEN)))
    refused = [
        ingest(http, server, report_query(orderID="1")),
        ingest(http, server, report_query(orderID="2"), f"{INGEST}/wrong-token-0123456789"),
        ingest(http, server, report_query(orderID="3", token="wrong-token-0123456789")),
        ingest(http, server, report_query(orderID="4", token=TOKEN[:-1])),
    ]
    for response in refused:
        assert_json_error(response, 404)
    assert all_bounces(http, server) == []

    accepted = [
        ingest(http, server, report_query(orderID="5"), f"{INGEST}/{TOKEN}"),
        ingest(http, server, report_query(orderID="6", token=TOKEN)),
        ingest(http, server, report_query(orderID="7"), f"{INGEST}/{OTHER_TOKEN}"),
    ]
    assert [r.json()["result"] for r in accepted] == ["stored"] * 3
    assert sorted(b["messageId"] for b in all_bounces(http, server)) == ["5", "6", "7"]


def test_token_path_does_not_exist_without_tokens(http, buffer_server):
    assert_json_error(ingest(http, buffer_server, report_query(), f"{INGEST}/{TOKEN}"), 404)
    assert all_bounces(http, buffer_server) == []
