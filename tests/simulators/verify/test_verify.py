"""`smsbounce verify` against our own buffer (SQLite, PostgreSQL), the CPI proxy in front of it,
and endpoints it cannot check (exit 2)."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
import trustme
from bottle import Bottle

from smsbounce.cpi_proxy.app import create_app as create_proxy
from smsbounce.plumbing.local_server import LocalServer
from tests.cpi_proxy.helpers import MARKETING, proxy_settings
from tests.helpers import INGEST, all_bounces, send
from tests.simulators.verify.broken_servers import PASSWORD, USER, ReferenceServer
from tests.simulators.verify.helpers import SMALL_PAGE, SMALL_VOLUME, verify_cli
from tests.testenv import API_PASSWORD, API_USER, settings_for

STATUS = "/api/v1/notifications/get"


def _args(status_url, auth=None, ingest_url=None, *extra, volume=SMALL_VOLUME):
    args = ["--status-url", status_url, "--settle-lag", "0", "--timeout", "10"]
    if auth:
        args += ["--user", auth[0], "--password", auth[1]]
    if ingest_url:
        args += ["--ingest-url", ingest_url]
        if volume is not None:
            args += ["--volume", str(volume)]
    return [*args, *extra]


def _assert_all_passed(code, out, document):
    assert code == 0, out
    assert document["passed"] is True
    assert {c["verdict"] for c in document["checks"]} == {"pass"}, out
    assert out.rstrip().endswith("all checks passed (19 passed, 0 failed, 0 skipped)")


# page size → the burst (None: verify's default, 2.5 pages at the page size it finds) and the
# pages the round trip's window then has. 2.5 pages of 1,000 would take 2,500 reports: two do.
PAGE_SIZES = {1: (SMALL_VOLUME, 28), 7: (None, 37), 100: (None, 3), 1000: (1000, 2)}


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_our_buffer_passes_every_check_at_each_page_size(tmp_path, start_buffer, db_url, page_size):
    server = start_buffer(settings_for(db_url, page_size=page_size))
    volume, pages = PAGE_SIZES[page_size]
    args = _args(server.url + STATUS, server.auth, server.url + INGEST, volume=volume)
    code, out, err, document = verify_cli(tmp_path, *args)
    _assert_all_passed(code, out, document)
    evidence = {c["check"]: c["evidence"] for c in document["checks"]}
    assert f"on {pages} pages of {page_size} in " in evidence["page-boundaries"], out
    assert f"steady pages of {page_size} entries" in evidence["page-size"]
    assert ("more than the article's" in evidence["page-size"]) == (page_size > 100)
    if volume is None:  # progress goes to stderr, the table to stdout
        assert "sending 264 reports" in err and "more bounces" not in err
    assert document["runPrefix"].startswith("sbv") and len(document["runPrefix"]) == 10


def test_a_window_with_larger_pages_gets_more_of_the_burst(tmp_path, start_buffer, sqlite_url):
    server = start_buffer(settings_for(sqlite_url, page_size=150))
    args = _args(server.url + STATUS, server.auth, server.url + INGEST, volume=None)
    code, out, err, document = verify_cli(tmp_path, *args)
    _assert_all_passed(code, out, document)
    # 258 bounces on 2 pages of 150 are fewer than 2.5 pages: 117 more make 375.
    assert "its pages hold 150: 117 more bounces for 2.5 pages" in err
    evidence = {c["check"]: c["evidence"] for c in document["checks"]}
    assert "375 of the run's bounces on 3 pages of 150" in evidence["page-boundaries"]


def test_our_buffer_behind_the_cpi_proxy_passes_every_check(tmp_path, buffer_server):
    settings = proxy_settings(
        buffer_server.url,
        "http://127.0.0.1:9/cmn/acc/acc.sms",
        buffer_user=API_USER,
        buffer_password=API_PASSWORD,
    )
    with LocalServer(create_proxy(settings)) as proxy:
        status_url = proxy.url + settings.status_path
        code, out, _, document = verify_cli(
            tmp_path, *_args(status_url, MARKETING, buffer_server.url + INGEST)
        )
    _assert_all_passed(code, out, document)
    # CPI turns the buffer's 400 into its failed-exchange 500; verify says so, and passes.
    evidence = {c["check"]: c["evidence"] for c in document["checks"]}
    assert "(500 relaying 400)" in evidence["bad-parameters"]


def test_a_token_protected_ingest_url_works_and_the_token_is_never_shown(
    tmp_path, start_buffer, sqlite_url
):
    token = "Verify-token-0123456789"
    server = start_buffer(settings_for(sqlite_url, ingest_tokens=(token,), page_size=SMALL_PAGE))
    ingest_url = f"{server.url}{INGEST}/{token}"
    code, out, err, document = verify_cli(
        tmp_path, *_args(server.url + STATUS, server.auth, ingest_url)
    )
    _assert_all_passed(code, out, document)
    assert token not in out + err + (tmp_path / "verify.json").read_text()


def test_it_never_alters_data_it_did_not_create(tmp_path, buffer_server):
    session = requests.Session()
    send(session, buffer_server, "foreign-42", status="0xDB62 Delivery failed")
    before = all_bounces(session, buffer_server)
    code, out, _, _ = verify_cli(
        tmp_path,
        *_args(buffer_server.url + STATUS, buffer_server.auth, buffer_server.url + INGEST),
    )
    assert code == 0, out
    after = [b for b in all_bounces(session, buffer_server) if not b["messageId"].startswith("sbv")]
    assert after == before


def test_without_an_ingest_url_only_the_read_side_runs(tmp_path, buffer_server):
    code, out, _, document = verify_cli(
        tmp_path, *_args(buffer_server.url + STATUS, buffer_server.auth)
    )
    assert code == 0, out
    verdicts = {c["check"]: c["verdict"] for c in document["checks"]}
    assert verdicts["field-mapping"] == "skip" and verdicts["schema"] == "pass"
    # A fresh buffer holds no window of several pages; the last hour is read twice.
    assert verdicts["page-size"] == "skip" and verdicts["same-pages"] == "pass"
    assert document["counts"] == {"pass": 12, "fail": 0, "skip": 7}


def test_a_contract_violation_exits_1_and_names_the_check(tmp_path):
    with ReferenceServer("lose-plus") as server:
        code, out, _, document = verify_cli(
            tmp_path, *_args(server.status_url, (USER, PASSWORD), server.ingest_url)
        )
    assert code == 1, out
    failing = [line for line in out.splitlines() if " FAIL " in line]
    assert len(failing) == 1 and failing[0].startswith("field-mapping")
    assert "recipient '49123456789', expected '+49123456789'" in failing[0]
    assert document["passed"] is False and document["counts"]["fail"] == 1


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{STATUS}"


def _could_not_run(tmp_path, *args):
    code, out, err, document = verify_cli(tmp_path, *args)
    assert code == 2, out + err
    assert document is None and out == ""
    return err.strip().splitlines()[-1]


def test_an_unreachable_endpoint_exits_2_with_one_sentence(tmp_path):
    line = _could_not_run(tmp_path, *_args(_closed_port_url()))
    assert line.startswith("verify could not run: cannot connect to http://127.0.0.1:")


def test_a_tls_failure_exits_2(tmp_path):
    ca = trustme.CA()  # not in the system's trust store
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with LocalServer(Bottle(), ssl_context=context) as server:
        line = _could_not_run(tmp_path, *_args(server.url + STATUS))
    assert line.startswith(f"verify could not run: the TLS handshake with {server.url} failed")


@pytest.mark.parametrize(
    "answer, sentence",
    [
        (401, "answered 401 to the given credentials: check --user and --password"),
        (404, "answered 404: is --status-url the status endpoint?"),
    ],
    ids=["wrong-credentials", "wrong-path"],
)
def test_a_wrong_url_or_password_exits_2(tmp_path, buffer_server, answer, sentence):
    url = buffer_server.url + (STATUS if answer == 401 else "/api/v1/nothing")
    line = _could_not_run(tmp_path, *_args(url, ("marketing", "wrong")))
    assert sentence in line


@pytest.mark.parametrize(
    "args, message",
    [
        (["--status-url", "ftp://example.com/x"], "is not an http(s) URL"),
        (["--status-url", "http://x", "--settle-lag", "-1"], "--settle-lag"),
        (["--status-url", "http://x", "--password", "p"], "--password needs --user"),
        (["--status-url", "http://x", "--provider", "acme"], "--provider"),
        ([], "Missing option '--status-url'"),
    ],
    ids=["scheme", "negative-lag", "password-without-user", "unknown-provider", "no-url"],
)
def test_bad_arguments_exit_2(tmp_path, args, message):
    code, out, err, _ = verify_cli(tmp_path, *args)
    assert code == 2 and message in err, err


def test_the_smsbounce_command_has_verify():
    from click.testing import CliRunner

    from smsbounce.buffer.cli import main

    result = CliRunner().invoke(main, ["verify", "--help"])
    assert result.exit_code == 0 and "--ingest-url" in result.output
