"""The proxy against the real buffer (SQLite and PostgreSQL) and the real DI simulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from smsbounce import contracts
from smsbounce.contracts.wire import format_utc
from smsbounce.plumbing.local_server import LocalServer
from smsbounce.simulators.di.app import create_app as create_di_sim
from smsbounce.simulators.di.scenario import Rule
from smsbounce.simulators.di.settings import Settings as DISettings
from smsbounce.simulators.di.simulator import Simulator
from tests.cpi_proxy.helpers import MARKETING, Servers, package, proxy_settings, raw_get
from tests.helpers import report_query
from tests.simulators.di.helpers import quiet_scenario, settle

STATUS = "/http/hybris_sms/status"
SEND = "/http/hybris_sms/sms"
DI_ACCOUNT = ("acme", "di-secret")


@pytest.fixture
def servers():
    with Servers() as started:
        yield started


@pytest.fixture
def di_sim():
    """A DI simulator: numbers starting +4900000 bounce with 0x4503, all others are delivered."""
    scenario = quiet_scenario(rules=(Rule("+4900000", (("0x4503", 1.0),)),))
    settings = DISettings(
        user=DI_ACCOUNT[0], password=DI_ACCOUNT[1], scenario=scenario, first_order_id=7000
    )
    simulator = Simulator(settings)
    server = LocalServer(create_di_sim(settings, simulator))
    yield server
    server.stop()
    simulator.close()


def _proxy_for(servers, buffer_server, provider_url, **overrides):
    user, password = buffer_server.auth
    settings = proxy_settings(
        buffer_server.url,
        provider_url,
        buffer_user=user,
        buffer_password=password,
        ingest_url=None,
        **overrides,
    )
    return servers.proxy(settings)


def test_status_through_the_proxy_is_the_buffers_answer(servers, buffer_server):
    stored = requests.get(
        buffer_server.url + "/api/v1/notifications/set?" + report_query(orderID="4711")
    )
    assert stored.status_code == 200, stored.text
    proxy = _proxy_for(servers, buffer_server, "http://127.0.0.1:9/cmn/a/a.sms")

    now = datetime.now(timezone.utc)
    start, end = (format_utc(t) for t in (now - timedelta(hours=1), now + timedelta(hours=1)))
    query = f"startTimeUTC={start}&endTimeUTC={end}&page=0&sourceSystem=MC1"
    through_proxy = raw_get(proxy.url, f"{STATUS}?{query}", auth=MARKETING)
    direct = requests.get(
        f"{buffer_server.url}/api/v1/notifications/get?{query}", auth=buffer_server.auth
    )
    assert direct.status_code == 200, direct.text
    assert through_proxy.status_code == 200, through_proxy.text
    assert through_proxy.content == direct.content
    assert through_proxy.headers["Content-Type"] == direct.headers["Content-Type"]
    body = contracts.validate("status-response", through_proxy.json())
    assert [item["messageId"] for item in body["status"]] == ["4711"]


def test_wrong_buffer_credentials_fail_the_exchange(servers, buffer_server):
    proxy = servers.proxy(
        proxy_settings(buffer_server.url, "http://127.0.0.1:9/x", buffer_password="wrong")
    )
    response = requests.get(proxy.url + STATUS + "?page=0", auth=MARKETING)
    assert response.status_code == 500
    assert "with statusCode: 401" in response.json()["error"]["message"]


def test_a_bounce_carries_the_provider_message_id_of_the_send_answer(
    servers, buffer_server, di_sim
):
    """Marketing → proxy → DI simulator → buffer → proxy → Marketing, with real servers."""
    proxy = _proxy_for(
        servers,
        buffer_server,
        f"{di_sim.url}/cmn/{DI_ACCOUNT[0]}/{DI_ACCOUNT[0]}.sms",
        provider_user=DI_ACCOUNT[0],
        provider_password=DI_ACCOUNT[1],
    )
    sent = package(
        {"recipient": "+4900000111"},
        {"recipient": "+4915112345678", "text": "Two\nlines"},
        {"recipient": "+4900000222"},
        {"recipient": "+49"},  # DI refuses it: 6019
    )
    response = requests.post(proxy.url + SEND, json=sent, auth=MARKETING)
    assert response.status_code == 200, response.text
    results = contracts.validate("marketing-send-response", response.json())["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "accepted", "rejected"]
    assert results[3]["errorCode"] == "6019"
    settle(di_sim)

    pulled = requests.get(proxy.url + STATUS, auth=MARKETING)
    assert pulled.status_code == 200, pulled.text
    page = contracts.validate("status-response", pulled.json())
    bounces = {item["messageId"]: item for item in page["status"]}
    expected = {results[0]["providerMessageId"]: "+4900000111"}
    expected[results[2]["providerMessageId"]] = "+4900000222"
    assert {k: v["recipient"] for k, v in bounces.items()} == expected
    assert {v["statusCode"] for v in bounces.values()} == {"0x4503"}
    assert page["lastPage"] is True
