"""The whole flow, end to end, on SQLite and PostgreSQL with the provider's faults on:
Marketing → CPI proxy → DI simulator → buffer → CPI proxy → Marketing, every message on the wire
checked against its contract, and a perfect reconciliation with the simulator's ground truth."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from smsbounce import contracts
from smsbounce.simulators import flow, services
from smsbounce.simulators.di.ini import parse_send
from smsbounce.simulators.marketing.__main__ import main as marketing
from tests.simulators.marketing.helpers import Recorder, tamper_status

MESSAGES = 60
SEED = 3


@pytest.fixture
def recorded_services(db_url):
    recorder = Recorder()
    running = services.start(db_url, seed=SEED, wrap=recorder)
    running.recorder = recorder
    yield running
    running.stop()


@cache
def _control_schema(what: str) -> Draft202012Validator:
    path = files("smsbounce.simulators.di") / "schemas" / f"control-{what}.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def _problems(validator: Draft202012Validator, document) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def _query(raw: str) -> dict[str, str]:
    return {k: v for k, v in parse_qsl(raw, keep_blank_values=True)}


def assert_wire_honours_the_contracts(recorder: Recorder) -> dict[str, int]:
    """Every recorded exchange, by route, against its contract; the count per route."""
    counts: dict[str, int] = {}

    def count(name):
        counts[name] = counts.get(name, 0) + 1

    for e in recorder.exchanges:
        body = json.loads(e.response) if e.response.startswith(b"{") else None
        if e.service == "cpi-proxy" and e.path == services.SEND_PATH:
            contracts.validate("marketing-send-request", json.loads(e.body))
            assert e.status == 200, e.response
            contracts.validate("marketing-send-response", body)
            count("marketing send")
        elif e.service == "cpi-proxy" and e.path == services.STATUS_PATH:
            contracts.validate("status-request", _query(e.query))
            assert e.status == 200, e.response
            contracts.validate("status-response", body)
            count("marketing status")
        elif e.service == "buffer" and e.path.startswith("/api/v1/notifications/set/"):
            params = {k.lower(): v for k, v in _query(e.query).items()}
            contracts.validate("di-report", params)
            contracts.validate("ingest-response" if e.status == 200 else "error", body)
            count("DI report")
        elif e.service == "buffer" and e.path == "/api/v1/notifications/get":
            contracts.validate("status-request", _query(e.query))
            assert e.status == 200, e.response
            contracts.validate("status-response", body)
            count("buffer get")
        elif e.service == "di-sim" and e.path.startswith("/cmn/"):
            parse_send(e.body)  # raises DIError on anything DI would refuse
            assert e.status == 200 and b"ORDERID=" in e.response, e.response
            count("DI send")
        elif e.service == "di-sim" and e.path.startswith("/_sim/"):
            what = e.path.removeprefix("/_sim/")
            assert _problems(_control_schema(what), body) == []
            count("control")
        else:
            pytest.fail(f"unexpected request on the wire: {e.service} {e.method} {e.path}")
    return counts


def test_the_whole_flow_reconciles_perfectly(recorded_services):
    result = flow.run(recorded_services, MESSAGES, seed=SEED, timeout=60)
    reconciliation = result.reconciliation
    assert result.ok, reconciliation.problems() + [str(v) for v in result.poller.violations]

    totals = reconciliation.totals
    assert (totals["sent"], totals["accepted"]) == (MESSAGES, MESSAGES)
    failures = ("lost", "twice", "unexpected", "unsettled")
    assert {k: totals[k] for k in failures} == dict.fromkeys(failures, 0)
    assert totals["owed"] > 0 and totals["served"] >= totals["owed"]
    assert totals["delivered"] + totals["soft"] + totals["hard"] == MESSAGES
    # The seed makes this run meet the faults a buffer must survive.
    summary = result.summary
    reports = summary["reports"]
    assert reports["duplicates"] and reports["late"] and reports["dropped"], summary
    assert summary["swapped_messages"], summary
    assert totals["dropped"] == reports["dropped"] + reports["lost"]
    # Every message's Marketing id came back with the provider id its bounces carry.
    assert all(m.marketing_id for m in reconciliation.messages)

    counts = assert_wire_honours_the_contracts(recorded_services.recorder)
    assert counts["marketing send"] == 1 and counts["DI send"] == MESSAGES
    assert counts["DI report"] >= reports["acknowledged"]
    assert counts["marketing status"] == counts["buffer get"] >= 2 * result.poller.windows

    # The poll command, from the start of the run, reconciles the same way on its own.
    user, password = recorded_services.marketing_auth
    outcome = CliRunner().invoke(
        marketing,
        [
            "poll",
            "--status-url",
            recorded_services.status_url,
            "--user",
            user,
            "--password",
            password,
            "--since",
            "10m",
            "--until-quiet",
            "0",
            "--di-sim",
            recorded_services.di_sim.url,
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    assert "perfect reconciliation" in outcome.output
    served = [line for line in outcome.output.splitlines() if re.match(r"\d{14}-\d{14}  ", line)]
    assert len(served) >= totals["owed"]


def _drop_first(memory):
    def edit(document):
        if document["status"] and not memory:
            memory.append(document["status"].pop())
        return document

    return edit


def _serve_again(memory):
    def edit(document):
        if not memory:
            memory.extend(document["status"][:1])
        elif document["status"] and document["lastPage"] and len(memory) == 1:
            # A later window: the first bounce ever served comes back once more.
            memory.append("again")
            document["status"].append(memory[0])
        return document

    return edit


@pytest.mark.parametrize(
    ("edit", "failure"),
    [(_drop_first, "lost"), (_serve_again, "twice")],
    ids=["a-bounce-lost-on-the-way-back", "a-bounce-served-again"],
)
def test_a_broken_middle_fails_the_run(sqlite_url, edit, failure):
    memory = []
    running = services.start(sqlite_url, seed=SEED, wrap=tamper_status(edit(memory)))
    try:
        result = flow.run(running, 30, seed=SEED, timeout=60)
    finally:
        running.stop()
    assert memory, "the run served no bounce to tamper with"
    assert not result.ok and not result.reconciliation.ok
    assert result.reconciliation.totals[failure] == 1, result.reconciliation.problems()
    victim = memory[0]["messageId"]
    [problem] = [p for p in result.reconciliation.problems() if p.startswith(victim)]
    assert ("never served" if failure == "lost" else "served 2 times") in problem


# Every built-in format, and profile files (ACME's, a list-shaped and a JSON-envelope one) that
# the simulator renders from the file itself.
PROFILE_FILES = sorted(str(p) for p in (Path(__file__).parent / "profiles").glob("*.json"))


@pytest.mark.parametrize(
    "provider",
    ["twilio", "vonage", "infobip", "sinch", "kannel", "jasmin", *PROFILE_FILES],
    ids=lambda p: Path(p).stem,
)
def test_the_whole_flow_reconciles_perfectly_for_every_provider_profile(db_url, provider):
    # The simulated provider reports in the profile's own format to its buffer endpoint.
    running = services.start(db_url, seed=SEED, provider=provider)
    try:
        result = flow.run(running, 40, seed=SEED, timeout=60)
    finally:
        running.stop()
    totals = result.reconciliation.totals
    assert result.ok, result.reconciliation.problems() + [str(v) for v in result.poller.violations]
    assert totals["owed"] > 0 and totals["served"] >= totals["owed"]
    name = json.loads(Path(provider).read_text())["name"] if provider in PROFILE_FILES else provider
    assert result.summary["profile"] == name


def test_the_progress_line_counts_in_words_that_agree():
    from types import SimpleNamespace

    poller = SimpleNamespace(windows=1, interactions=["one"])
    line = flow._progress(1.0, 1, {"orders": 1, "reports": {"acknowledged": 1}}, poller, None)
    assert line == (
        "[  1.0 s] sent 1/1 · reports 1 acknowledged, 0 pending, 0 retrying · 1 window, "
        "1 bounce served · running"
    )
