"""``smsbounce marketing send|poll`` as a user runs them (click's runner, real servers)."""

from __future__ import annotations

import json

import pytest
from bottle import HTTPResponse
from click.testing import CliRunner

from smsbounce.buffer.cli import main as smsbounce
from tests.simulators.marketing.helpers import MARKETING, SendRoute, StatusServer, item, page

CREDENTIALS = ["--user", MARKETING[0], "--password", MARKETING[1]]


@pytest.fixture
def route():
    target = SendRoute()
    yield target
    target.server.stop()


def run(*args):
    return CliRunner().invoke(smsbounce, ["marketing", *args])


def test_send_prints_the_id_mapping(route):
    result = run("send", "--send-url", route.url, *CREDENTIALS, "--messages", "3", "--seed", "1")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [provider for _, provider in rows] == ["p000001", "p000002", "p000003"]
    assert all(marketing.endswith(provider[1:]) for marketing, provider in rows)
    assert result.stderr == "sent 3 messages: 3 accepted, 0 rejected, 0 in failed packages\n"
    assert len(route.packages) == 1


def test_send_from_a_file_writes_the_mapping(route, tmp_path):
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("+4915112345678\n+4900999\n")
    output = tmp_path / "mapping.json"
    result = run(
        "send", "--send-url", route.url, *CREDENTIALS, "--file", str(numbers), "--output", output
    )
    assert result.exit_code == 0, result.output
    mapping = json.loads(output.read_text())
    assert [row.get("providerMessageId") for row in mapping] == ["p000001", None]
    assert mapping[1]["errorCode"] == "6019"
    assert result.stdout == ""


def test_send_exits_1_when_a_package_fails(route):
    route.reply = lambda package: HTTPResponse("down", 500)
    result = run("send", "--send-url", route.url, *CREDENTIALS, "--messages", "2")
    assert result.exit_code == 1
    assert "package failed: HTTP 500: down" in result.stderr
    assert result.stdout.count("failed: HTTP 500") == 2


@pytest.mark.parametrize(
    "choice", [[], ["--messages", "2", "--file", __file__]], ids=["neither", "both"]
)
def test_send_wants_exactly_one_source(route, choice):
    result = run("send", "--send-url", route.url, *CREDENTIALS, *choice)
    assert result.exit_code == 2
    assert "give exactly one of --messages N and --file F" in result.output


def test_poll_books_interactions_and_exits_0(tmp_path):
    server = StatusServer(lambda n, params: page(n, True, [item("42")] if n == 0 else []))
    try:
        output = tmp_path / "interactions.jsonl"
        result = run(
            "poll", "--status-url", server.url, *CREDENTIALS, "--since", "1m",
            "--until-quiet", "0", "--output", str(output),
        )  # fmt: skip
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.endswith("  hard  42  +4915112345678  0x4503  0x4503 text")
    assert json.loads(output.read_text())["bounce"] == "hard"
    assert "1 window, 1 interaction (1 hard, 0 soft), 0 violations, 0 failed polls" in result.stderr


def test_poll_reports_violations_and_exits_1():
    server = StatusServer(lambda n, params: {"page": n, "lastPage": True, "status": []})
    try:
        result = run(
            "poll", "--status-url", server.url, *CREDENTIALS, "--since", "1m",
            "--until-quiet", "0",
        )  # fmt: skip
    finally:
        server.stop()
    assert result.exit_code == 1
    assert "VIOLATION window " in result.stderr
    assert "page is echoed as 0 (int), expected the string '0'" in result.stderr


def test_poll_explains_a_bad_since():
    result = run("poll", "--status-url", "http://127.0.0.1:9/s", *CREDENTIALS, "--since", "soon")
    assert result.exit_code == 2
    assert "--since must be 'now', a UTC time as YYYYMMDDhhmmss" in result.output
