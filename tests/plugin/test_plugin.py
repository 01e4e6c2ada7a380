"""The pytest plugin, as a user's suite sees it: each test writes a user's test file and runs it
with ``pytester``, on SQLite and on PostgreSQL (the server named by ``SMSBOUNCE_TEST_PG_URL``).
Every fixture starts real servers on port 0; nothing here is mocked."""

from __future__ import annotations

import pytest

from smsbounce.simulators.pytest_plugin import DATABASE_URL_VARIABLE

# A user's endpoint that breaks the contract the way hand-written middleware does: ``page``
# echoed as a number. Read-only, as the article's servlet is towards Marketing.
BROKEN_SERVLET = """
import json
from bottle import Bottle, HTTPResponse, request
from smsbounce.plumbing.local_server import LocalServer

def broken_servlet():
    app = Bottle()

    @app.get("/api/v1/notifications/get")
    def get():
        page = int(request.query.get("page", "0"))
        body = json.dumps({"page": page, "lastPage": True, "status": []})
        return HTTPResponse(body, 200, content_type="application/json")

    return LocalServer(app)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def user_suite(request, pytester, monkeypatch):
    """A user's project: ``run(*args)`` runs pytest on it, with the PostgreSQL server given on
    the command line for the ``postgres`` variant (a database of the inner session's own)."""
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)  # SQLite unless given
    server = request.getfixturevalue("pg_server_url") if request.param == "postgres" else None
    pytester.makeini("[pytest]\nsmsbounce_settle_lag = 0\n")

    def run(*args):
        options = [f"--smsbounce-database-url={server}"] if server else []
        return pytester.runpytest_inprocess(*options, "-p", "no:cacheprovider", *args)

    run.backend = request.param
    return run


def test_the_buffer_and_the_proxy_in_front_of_it_pass_verify(pytester, user_suite):
    pytester.makepyfile(
        f"""
        def test_certify(smsbounce_start_buffer, smsbounce_start_cpi_proxy, smsbounce_verify):
            buffer = smsbounce_start_buffer(page_size=10)  # 30 bounces: several pages
            scheme = buffer.settings.database_url.split(":")[0]
            assert scheme == {"postgresql" if user_suite.backend == "postgres" else "sqlite"!r}
            direct = smsbounce_verify(
                buffer.status_url, buffer.auth, ingest_url=buffer.ingest_url(), volume=30
            )
            assert direct.passed, direct.table()
            assert not direct.failures
            assert {{v.verdict for v in direct.verdicts}} == {{"pass"}}, direct.table()
            proxy = smsbounce_start_cpi_proxy(buffer.url, buffer.auth, buffer.ingest_url())
            through_cpi = smsbounce_verify(proxy.status_url, proxy.auth)
            assert through_cpi.passed, through_cpi.table()
        """
    )
    user_suite().assert_outcomes(passed=1)


def test_marketing_sends_through_cpi_and_reconciles(pytester, user_suite):
    pytester.makepyfile(
        """
        def test_flow(smsbounce_marketing, smsbounce_di_sim):
            result = smsbounce_marketing.run(40, seed=3, timeout=60)
            assert result.ok, result.reconciliation.problems()
            assert result.reconciliation.totals["sent"] == 40
            assert smsbounce_di_sim.simulator.summary()["orders"] == 40

        def test_send_and_poll(smsbounce_marketing):
            poller = smsbounce_marketing.poller()
            sent = smsbounce_marketing.send(5)
            assert len(sent.accepted) == 5 and not sent.failed
            poller.tick()
            assert not poller.violations and not poller.failures
        """
    )
    user_suite().assert_outcomes(passed=2)


def test_verify_fails_a_users_endpoint_with_evidence_and_cpi_fronts_it(pytester, user_suite):
    pytester.makepyfile(
        BROKEN_SERVLET
        + """
import pytest
from smsbounce.simulators.verify import CouldNotRun

def test_page_as_a_number(smsbounce_verify, smsbounce_start_cpi_proxy):
    servlet = broken_servlet()
    try:
        url = servlet.url + "/api/v1/notifications/get"
        result = smsbounce_verify(url)
        failed = {v.check: v.evidence for v in result.failures}
        assert not result.passed
        assert "page-echo" in failed and "page 0" in failed["page-echo"], result.table()
        assert "page-echo" in result.table() and "FAIL" in result.table()
        # The CPI proxy in front of the user's endpoint passes its pages through unchanged.
        proxy = smsbounce_start_cpi_proxy(buffer_url=servlet.url, buffer_auth=("u", "p"),
                                          ingest_url=servlet.url + "/ingest")
        through = smsbounce_verify(proxy.status_url, proxy.auth)
        assert "page-echo" in {v.check for v in through.failures}
    finally:
        servlet.stop()

def test_an_endpoint_that_is_not_there_cannot_be_checked(smsbounce_verify):
    with pytest.raises(CouldNotRun, match="cannot connect"):
        smsbounce_verify("http://127.0.0.1:1/status", timeout=2)
"""
    )
    user_suite().assert_outcomes(passed=2)


ACME = """{
  "name": "acme",
  "methods": ["GET"],
  "fields": {"messageId": "ref", "recipient": "to", "time": "at", "status": "state",
             "code": "reason"},
  "time": {"format": "unix"},
  "states": {"delivered": ["ok"], "intermediate": ["queued"], "permanent": ["fail"]},
  "codes": {"temporary": ["busy", "absent"]},
  "default": "Permanent"
}"""


def test_the_buffer_loads_the_profile_files_the_ini_names(pytester):
    pytester.makefile(".json", acme=ACME)
    pytester.makeini("[pytest]\nsmsbounce_provider_files = acme.json\n")
    pytester.makepyfile(
        """
        import requests

        def test_acme(smsbounce_buffer, smsbounce_provider_files):
            assert smsbounce_provider_files[0].endswith("acme.json")
            query = {"ref": "A-17", "to": "+4915112345678", "state": "fail", "reason": "absent",
                     "at": "1764100000"}
            answer = requests.get(smsbounce_buffer.ingest_url("acme"), params=query, timeout=10)
            assert answer.status_code == 200, answer.text
            page = requests.get(smsbounce_buffer.status_url, auth=smsbounce_buffer.auth,
                                timeout=10).json()
            [bounce] = page["status"]
            assert (bounce["messageId"], bounce["type"]) == ("A-17", "Temporary")
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_mock_fixtures_answer_requests(pytester):
    pytester.makepyfile(
        """
        import requests

        ORDER = "[MSISDN]\\nList=+4915112345678\\n[MESSAGE]\\nText=hi\\n[END]\\n"

        def test_mocks(smsbounce_di_mock, smsbounce_status_mock, smsbounce_responses):
            sent = requests.post(smsbounce_di_mock.send_url, data=ORDER,
                                 auth=smsbounce_di_mock.auth)
            assert sent.status_code == 200 and "ORDERID=1000000" in sent.text
            page = requests.get(smsbounce_status_mock.url, auth=smsbounce_status_mock.auth)
            assert page.json() == {"page": "0", "lastPage": True, "status": []}
            smsbounce_responses.get("https://elsewhere.example/", body="mine")
            assert requests.get("https://elsewhere.example/").text == "mine"
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
