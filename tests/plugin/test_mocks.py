"""The ``responses`` mocks answer real ``requests`` calls as DI and Marketing's status endpoint
do: DI's error codes for each bad order, and pages that Marketing's own poller (the simulator's
walker and paging checks) finds right."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from smsbounce import contracts
from smsbounce.contracts.wire import format_utc
from smsbounce.simulators.di.ini import parse_answer
from smsbounce.simulators.marketing.poller import Poller
from smsbounce.simulators.mocks import DigitalInterconnect, StatusEndpoint, bounce
from tests.helpers import assert_json_error


def order(recipients="+4915112345678", text="Spring sale", reply="https://me.example/dlr"):
    lines = ["Version=2.0", "[MSISDN]", f"List={recipients}", "[MESSAGE]", f"Text={text}"]
    lines += ["[SETUP]", "AckType=Message", f"AckReplyAddress={reply}", "MobileNotification=YES"]
    return "\n".join([*lines, "[END]", ""])


@pytest.fixture
def di():
    with DigitalInterconnect() as mock:
        yield mock


def test_di_takes_an_order_and_records_the_reports_it_would_send(di):
    answer = requests.post(di.send_url, data=order("+4915112345678,+4917012345678"), auth=di.auth)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert parse_answer(answer.text) == {"ORDERID": "1000000"}
    assert [m["recipient"] for m in di.orders()] == ["+4915112345678", "+4917012345678"]
    reports = di.reports()
    assert reports and all(
        r.url.startswith("https://me.example/dlr?orderid=1000000&") for r in reports
    )


@pytest.mark.parametrize(
    "body, auth, status, code",
    [
        (order(), None, 401, "600F"),
        (order(), ("acme", "wrong"), 401, "600F"),
        ("Version=2.0\n[MSISDN]\nList=+4915112345678\n", "ok", 400, "6010"),
        (order(text=" "), "ok", 400, "6017"),
        (order(recipients=""), "ok", 400, "6018"),
        (order(recipients="+49,+4915112345678"), "ok", 400, "6019"),
    ],
    ids=["no-auth", "wrong-password", "no-end", "no-text", "no-recipients", "bad-recipient"],
)
def test_di_refuses_a_bad_order_with_its_error_code(di, body, auth, status, code):
    answer = requests.post(di.send_url, data=body, auth=di.auth if auth == "ok" else auth)
    assert answer.status_code == status
    assert parse_answer(answer.text)["ERROR"] == code
    assert parse_answer(answer.text)["ERRORTEXT"]
    assert ("WWW-Authenticate" in answer.headers) == (code == "600F")


def test_di_unavailable_answers_8000_and_other_urls_are_not_answered():
    with DigitalInterconnect(unavailable=1.0) as di:
        answer = requests.post(di.send_url, data=order(), auth=di.auth)
        assert (answer.status_code, parse_answer(answer.text)["ERROR"]) == (503, "8000")
        assert requests.post(di.base_url + "/cmn/acme/other.sms", data=order()).status_code == 404
        with pytest.raises(requests.ConnectionError):
            requests.get("https://not-mocked.example/")


NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def status():
    """250 bounces received a minute ago, one an hour ago."""
    with StatusEndpoint() as mock:
        for n in range(250):
            mock.add(bounce(f"m{n:03}", permanent=n % 5 != 0), NOW - timedelta(seconds=60))
        mock.add(bounce("old"), NOW - timedelta(hours=1))
        yield mock


def test_status_pages_satisfy_marketings_poller(status):
    poller = Poller(status.url, status.auth, NOW - timedelta(minutes=5))
    result = poller.poll_window(NOW - timedelta(minutes=5), NOW)
    assert result.failure is None and not result.violations, result.violations
    assert result.pages == 3
    assert len(result.interactions) == 250
    assert {i.bounce for i in result.interactions} == {"hard", "soft"}


def test_status_pages_and_window_follow_the_contract(status):
    window = {"startTimeUTC": format_utc(NOW - timedelta(hours=2)), "endTimeUTC": format_utc(NOW)}
    pages = [
        requests.get(status.url, params={**window, "page": str(n)}, auth=status.auth).json()
        for n in range(4)
    ]
    for page in pages:
        contracts.validate("status-response", page)
    assert [(p["page"], p["lastPage"], len(p["status"])) for p in pages] == [
        ("0", False, 100), ("1", False, 100), ("2", True, 51), ("3", True, 0)
    ]  # fmt: skip
    assert pages[0]["status"][0]["messageId"] == "old"  # by receive time
    everything = requests.get(status.url, auth=status.auth).json()
    assert len(everything["status"]) == 100 and everything["lastPage"] is False
    assert status.requests[-1] == {}


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"page": "abc"}, "page"),
        ({"page": "-1"}, "page"),
        ({"startTimeUTC": "20240101000000", "page": "0"}, "endTimeUTC"),
        ({"startTimeUTC": "2024-01-01", "endTimeUTC": "20240101000000"}, "startTimeUTC"),
        ({"startTimeUTC": "20240102000000", "endTimeUTC": "20240101000000"}, "endTimeUTC"),
    ],
    ids=["letters", "negative", "start-without-end", "malformed-time", "end-before-start"],
)
def test_status_refuses_bad_parameters_naming_them(status, params, parameter):
    assert_json_error(requests.get(status.url, params=params, auth=status.auth), 400, parameter)


def test_status_wants_credentials_and_can_fail_as_cpi_does(status):
    for auth in (None, ("marketing", "wrong")):
        answer = requests.get(status.url, auth=auth)
        assert_json_error(answer, 401)
        assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    status.fail_next(2)
    failed = [requests.get(status.url, auth=status.auth) for _ in range(3)]
    assert [a.status_code for a in failed] == [500, 500, 200]
    assert "An internal server error occured" in failed[0].text


def test_status_refuses_an_item_outside_the_contract():
    with pytest.raises(contracts.ContractViolation, match="type"):
        StatusEndpoint().add(bounce("x", type="Hard"))


def test_mocks_share_a_requests_mock_the_test_owns():
    import responses

    with responses.RequestsMock() as rsps:
        di = DigitalInterconnect(rsps)
        status = StatusEndpoint(rsps, auth=None)
        try:
            assert requests.post(di.send_url, data=order(), auth=di.auth).status_code == 200
            assert requests.get(status.url).json()["lastPage"] is True
        finally:
            di.close()
