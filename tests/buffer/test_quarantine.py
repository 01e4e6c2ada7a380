"""No bounce lost to a mapping gap (docs/spec.md §4): a report with a message id and a failure
state whose recipient or time cannot be read is quarantined with its raw request — answered the
way its provider counts as taken, counted in /metrics, listed by ``smsbounce quarantine list`` —
and ``smsbounce replay`` maps it (or stored reports) again. Every database test runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from smsbounce import contracts
from smsbounce.buffer import retention
from smsbounce.buffer.models import QuarantinedReport, bind
from tests.helpers import all_bounces, assert_json_error
from tests.serve_process import SMSBOUNCE
from tests.testenv import settings_for

PROFILES = Path(__file__).resolve().parents[2] / "buffer" / "providers" / "profiles"
DAY = 86_400 * 1_000_000
JASMIN = "/api/v1/providers/jasmin/report"
KANNEL = "/api/v1/providers/kannel/report"
INFOBIP = "/api/v1/providers/infobip/report"

# A Jasmin receipt exactly as Jasmin 0.11 sends it; its dlr-url named the recipient `msisdn`.
JASMIN_RECEIPT = {
    "id": "8d1f6b2e-5e4c-4c2e-9b1a-0f6c2a1e9d01",
    "level": "2",
    "message_status": "UNDELIV",
    "connector": "0000000a",
    "id_smsc": "A",
    "sub": "001",
    "dlvrd": "000",
    "subdate": "2612011715",
    "donedate": "2612011716",
    "err": "001",
    "text": "Spring sale",
}
KANNEL_QUERY = (
    "id=K-7&to=ACME&type=2&reply=id%3A0000000b+sub%3A001+dlvrd%3A000+submit+date%3A2612011725"
    "+done+date%3A2612011725+stat%3AUNDELIV+err%3A001+text%3AGr%FC%DFe+caf%E9&ts=1796145956"
)


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def held(server):
    return server.store.quarantine.entries()


def jasmin(session, server, query="msisdn=%2B4915112345678", **fields):
    return session.post(f"{server.url}{JASMIN}?{query}", data={**JASMIN_RECEIPT, **fields})


def test_a_jasmin_receipt_without_recipient_is_quarantined_and_answered_ack(http, buffer_server):
    response = jasmin(http, buffer_server)
    assert (response.status_code, response.text) == (200, "ACK/Jasmin")
    assert all_bounces(http, buffer_server) == []  # Marketing's item needs a recipient
    [entry] = held(buffer_server)
    assert (entry.provider, entry.message_id, entry.type) == (
        "jasmin",
        JASMIN_RECEIPT["id"],
        "Permanent",
    )
    assert entry.parameter == "to" and "no recipient" in entry.reason
    raw = json.loads(entry.raw_request)
    assert raw["query"] == "msisdn=%2B4915112345678" and "level=2" in raw["body"]


def test_a_quarantined_report_is_answered_in_the_buffers_json_and_counted(http, buffer_server):
    response = http.get(f"{buffer_server.url}{KANNEL}?{KANNEL_QUERY}")
    assert response.status_code == 200
    assert contracts.validate("ingest-response", response.json()) == {
        "result": "quarantined",
        "messageId": "K-7",
    }
    metrics = http.get(buffer_server.url + "/metrics", auth=buffer_server.auth).text
    assert 'smsbounce_reports_quarantined_total{provider="kannel",type="Permanent"} 1.0' in metrics


def test_a_batch_answers_each_report_and_holds_only_the_unreadable_one(http, buffer_server):
    good = {"messageId": "ib-1", "to": "4915112345678", "status": {"groupName": "UNDELIVERABLE"}}
    no_to = {"messageId": "ib-2", "status": {"groupName": "UNDELIVERABLE"}}
    response = http.post(buffer_server.url + INFOBIP, json={"results": [good, no_to]})
    body = contracts.validate("ingest-batch-response", response.json())
    assert [r.get("result") for r in body["results"]] == ["stored", "quarantined"]
    assert [b["messageId"] for b in all_bounces(http, buffer_server)] == ["ib-1"]
    [entry] = held(buffer_server)
    assert entry.message_id == "ib-2" and json.loads(entry.raw_request)["report"] == no_to


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [({"id": ""}, "id"), ({"message_status": ""}, "message_status")],
    ids=["no-message-id", "no-state"],
)
def test_what_the_profile_cannot_map_is_held_as_unmapped(http, buffer_server, fields, parameter):
    response = jasmin(http, buffer_server, **fields)
    assert (response.status_code, response.text) == (200, "ACK/Jasmin")
    [entry] = held(buffer_server)
    assert (entry.type, entry.parameter) == ("unmapped", parameter)
    assert all_bounces(http, buffer_server) == []


def test_what_cannot_be_a_report_stays_a_400(http, buffer_server):
    assert_json_error(jasmin(http, buffer_server, id="two words"), 400, "id")
    assert held(buffer_server) == [] and all_bounces(http, buffer_server) == []


def test_kannels_receipt_text_in_latin1_is_decoded_leniently_and_never_served(http, buffer_server):
    query = KANNEL_QUERY.replace("to=ACME", "to=%2B4915112345678")
    response = http.get(f"{buffer_server.url}{KANNEL}?{query}")
    assert response.json() == {"result": "stored", "messageId": "K-7"}
    [bounce] = all_bounces(http, buffer_server)
    assert bounce["statusText"] == (
        "id:0000000b sub:001 dlvrd:000 submit date:2612011725 done date:2612011725 "
        "stat:UNDELIV err:001"
    )
    assert (bounce["recipient"], bounce["statusCode"]) == ("+4915112345678", "001")
    # Only free text is lenient: the same bytes in an identifying field are a 400 naming it.
    bad_id = query.replace("id=K-7", "id=K-%FC")
    assert_json_error(http.get(f"{buffer_server.url}{KANNEL}?{bad_id}"), 400, "id")


def test_a_quarantined_report_during_an_outage_is_not_acknowledged(tmp_path):
    from smsbounce.buffer.app import create_app
    from smsbounce.plumbing.local_server import LocalServer

    settings = settings_for(f"sqlite:///{tmp_path / 'no-such-directory' / 'buffer.db'}")
    with LocalServer(create_app(settings)) as server:
        response = jasmin(requests, server)
    assert_json_error(response, 503)  # not ACK/Jasmin: Jasmin tries again


def test_held_reports_go_with_the_retention(db_url, start_buffer, http):
    server = start_buffer(settings_for(db_url))
    jasmin(http, server)
    model = bind(server.store.database, QuarantinedReport)
    now = held(server)[0].received_at + 40 * DAY
    retention.purge(server.store, settings_for(db_url, max_window_days=7), 30, now_us=now)
    assert held(server) == []
    assert model.select().count() == 0


# --- the commands -------------------------------------------------------------------------


def run(db_url, *args, **environ):
    env = {"PATH": os.environ["PATH"], "SMSBOUNCE_DATABASE_URL": db_url, **environ}
    return subprocess.run([SMSBOUNCE, *args], env=env, capture_output=True, text=True, timeout=60)


def smsbounce(db_url, *args):
    done = run(db_url, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def fixed_jasmin(tmp_path):
    """The integrator's fix: their dlr-urls name the recipient msisdn."""
    document = json.loads((PROFILES / "jasmin.json").read_text())
    document["fields"]["recipient"] = {"from": ["to", "msisdn"]}
    path = tmp_path / "jasmin.json"
    path.write_text(json.dumps(document))
    return path


def test_quarantine_list_shows_each_held_report_and_why(db_url, start_buffer, http):
    server = start_buffer(settings_for(db_url))
    jasmin(http, server)
    out = smsbounce(db_url, "quarantine", "list")
    assert f"jasmin  Permanent  {JASMIN_RECEIPT['id']}: to is missing" in out
    assert out.strip().endswith("1 held; `smsbounce replay` maps them again")
    document = json.loads(smsbounce(db_url, "quarantine", "list", "--json", "--raw"))
    [entry] = document["entries"]
    assert document["held"] == 1 and entry["parameter"] == "to"
    assert "+4915112345678" not in entry["rawRequest"]  # numbers masked by default


def test_replay_with_a_fixed_profile_serves_the_held_bounce(
    db_url, start_buffer, http, fixed_jasmin
):
    server = start_buffer(settings_for(db_url))
    jasmin(http, server)
    dry = smsbounce(db_url, "replay", "--profile", str(fixed_jasmin), "--dry-run")
    assert f"quarantine #{held(server)[0].id} jasmin {JASMIN_RECEIPT['id']}: stored: " in dry
    assert "1 would be stored" in dry and "dry run: nothing written" in dry
    assert len(held(server)) == 1 and all_bounces(http, server) == []

    assert "1 was stored" in smsbounce(db_url, "replay", "--profile", str(fixed_jasmin))
    assert held(server) == []
    [bounce] = all_bounces(http, server)
    assert {k: bounce[k] for k in ("messageId", "recipient", "statusCode", "type")} == {
        "messageId": JASMIN_RECEIPT["id"],
        "recipient": "+4915112345678",
        "statusCode": "001",
        "type": "Permanent",
    }
    assert bounce["timestamp"] == "20261201171600"  # the receipt's donedate, not the replay's


def test_replay_without_a_fix_keeps_it_held(db_url, start_buffer, http):
    server = start_buffer(settings_for(db_url))
    jasmin(http, server)
    out = smsbounce(db_url, "replay")
    assert "still quarantined: to is missing" in out and "1 still held" in out
    assert len(held(server)) == 1


def test_replay_of_stored_reports_rewrites_what_a_new_mapping_changes(
    db_url, start_buffer, http, tmp_path
):
    server = start_buffer(settings_for(db_url))
    query = KANNEL_QUERY.replace("to=ACME", "to=%2B4915112345678")
    assert http.get(f"{server.url}{KANNEL}?{query}").json()["result"] == "stored"
    assert all_bounces(http, server)[0]["type"] == "Permanent"
    # Trying a mapping change on real traffic: err 001 becomes a soft bounce.
    document = json.loads((PROFILES / "kannel.json").read_text())
    document["codes"] = {"temporary": ["001"]}
    path = tmp_path / "kannel.json"
    path.write_text(json.dumps(document))
    dry = smsbounce(db_url, "replay", "--stored", "--profile", str(path), "--dry-run")
    assert "stored kannel K-7: changed: type 'Permanent' -> 'Temporary'" in dry
    assert all_bounces(http, server)[0]["type"] == "Permanent"
    before = server.store.stored()[0].ingested_at

    out = smsbounce(db_url, "replay", "--stored", "--since", "1", "--profile", str(path))
    assert "1 stored: 1 was rewritten" in out
    [row] = server.store.stored()
    assert row.type == "Temporary" and row.ingested_at > before  # served again
    assert "unchanged" in smsbounce(db_url, "replay", "--stored", "--profile", str(path))


def test_a_stored_report_without_its_request_says_it_cannot_be_mapped_again(db_url, start_buffer):
    server = start_buffer(settings_for(db_url))
    from smsbounce.buffer.reports import Outcome, Report

    report = Report("old-1", "+4915112345678", "1", "x", Outcome.PERMANENT, "20260101000000")
    server.store.save(report, provider="kannel", raw=None)
    out = smsbounce(db_url, "replay", "--stored", "--dry-run")
    assert "stored kannel old-1: cannot be mapped again: no raw request was kept" in out


@pytest.mark.parametrize(
    "command", [("quarantine", "list"), ("replay",), ("replay", "--stored")], ids=" ".join
)
def test_a_misspelt_provider_is_refused_naming_the_known_profiles(db_url, start_buffer, command):
    start_buffer(settings_for(db_url))
    done = run(db_url, *command, "--provider", "twillio")
    assert done.returncode == 1, done.stdout  # as `providers try twillio …`
    assert "no profile 'twillio'; known: " in done.stderr
    assert "jasmin" in done.stderr and "twilio" in done.stderr
    assert done.stdout == ""


def test_a_provider_from_a_profile_file_is_known(db_url, start_buffer, tmp_path):
    start_buffer(settings_for(db_url))
    document = json.loads((PROFILES / "jasmin.json").read_text())
    document["name"] = "acme"
    path = str(tmp_path / "acme.json")
    Path(path).write_text(json.dumps(document))
    listed = run(db_url, "quarantine", "list", "--provider", "acme", SMSBOUNCE_PROVIDER_FILES=path)
    assert (listed.returncode, listed.stdout) == (0, "0 held\n"), listed.stderr
    assert "0 quarantined" in smsbounce(db_url, "replay", "--provider", "acme", "--profile", path)


def test_held_entries_of_a_profile_since_removed_are_still_listed(db_url, start_buffer, http):
    server = start_buffer(settings_for(db_url))
    jasmin(http, server)
    model = bind(server.store.database, QuarantinedReport)
    model.update(provider="retired").execute()
    assert "retired  Permanent" in smsbounce(db_url, "quarantine", "list", "--provider", "retired")
