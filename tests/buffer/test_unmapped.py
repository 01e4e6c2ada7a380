"""Nothing lost because our mapping lacks something (docs/spec.md §4, issue 20): a report at a
configured provider's endpoint that parses in its format but in which the profile finds no
message id or state is kept with its raw request and answered as taken, within bounds (503
beyond); an operator can keep acknowledged reports too for a while; ``smsbounce replay`` maps
both after the profile is fixed. Digital Interconnect's article endpoint still answers 400.
Real HTTP against a live buffer, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from smsbounce import contracts
from smsbounce.buffer.app import create_app
from smsbounce.buffer.intake import Intake
from smsbounce.buffer.keeping import Bounds, Usage
from smsbounce.buffer.models import QuarantinedReport, bind
from smsbounce.buffer.providers import GenericProfile
from smsbounce.buffer.raw_requests import JSON, RawRequest
from smsbounce.buffer.reports import Result
from smsbounce.buffer.settings import Settings, SettingsError
from smsbounce.plumbing.local_server import LocalServer
from tests.buffer.providers import test_telnyx as telnyx_examples
from tests.helpers import all_bounces, assert_json_error, ingest, report_query
from tests.serve_process import SMSBOUNCE
from tests.testenv import settings_for

PROFILES = Path(__file__).resolve().parents[2] / "buffer" / "providers" / "profiles"
NAME = "acmetelnyx"  # the integrator's own profile for Telnyx, written in the test
ENDPOINT = f"/api/v1/providers/{NAME}/report"
MESSAGE_ID = "ac012cbf-5e09-46af-a69a-7c0e2d90993c"
# Telnyx's documented message.finalized body, its recipient failed with the documented errors
# (tests/buffer/providers/test_telnyx.py names the sources).
FAILED = json.loads(telnyx_examples.failed("delivery_failed").body)
SERVED = {
    "messageId": MESSAGE_ID,
    "recipient": "+13125550002",
    "statusCode": "40300",
    "statusText": "The destination number is not reachable on the carrier network.",
    "type": "Permanent",
    "timestamp": "20240115213214",
}


def telnyx_profile(path: Path, **changes) -> Path:
    """The built-in Telnyx profile under NAME; ``fields`` and ``states`` entries replaced."""
    document = json.loads((PROFILES / "telnyx.json").read_text())
    document["name"] = NAME
    for key, value in changes.items():
        document[key] = {**document[key], **value}
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def wrong(tmp_path):
    """Written from an older page of Telnyx's docs: the id and the status in the wrong place."""
    fields = {"messageId": "data.payload.message_id", "status": "data.payload.status"}
    return telnyx_profile(tmp_path / "wrong.json", fields=fields)


@pytest.fixture
def fixed(tmp_path):
    return telnyx_profile(tmp_path / "fixed.json")


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def start(start_buffer, db_url, profile: Path, **overrides):
    return start_buffer(settings_for(db_url, provider_files=(str(profile),), **overrides))


def post(http, server, body=FAILED, path=ENDPOINT):
    return http.post(server.url + path, json=body)


def held(server):
    return server.store.quarantine.entries()


def run(db_url, *args, profile: Path):
    environ = {
        "PATH": os.environ["PATH"],
        "SMSBOUNCE_DATABASE_URL": db_url,
        "SMSBOUNCE_PROVIDER_FILES": str(profile),
    }
    done = subprocess.run(
        [SMSBOUNCE, *args], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def metrics(http, server) -> str:
    return http.get(server.url + "/metrics", auth=server.auth).text


# --- a report the profile cannot map is kept, and recovered after the fix ------------------


def test_a_telnyx_report_under_a_wrong_profile_is_kept_and_recovered_by_replay(
    db_url, start_buffer, http, wrong, fixed
):
    server = start(start_buffer, db_url, wrong)
    answer = post(http, server)
    assert answer.status_code == 200, answer.text
    assert contracts.validate("ingest-response", answer.json()) == {"result": "quarantined"}
    assert all_bounces(http, server) == []
    [entry] = held(server)
    assert (entry.provider, entry.type, entry.message_id) == (NAME, "unmapped", "")
    assert entry.parameter == "data.payload.message_id"
    assert json.loads(json.loads(entry.raw_request)["body"]) == FAILED  # byte for byte
    assert f'smsbounce_reports_quarantined_total{{provider="{NAME}",type="unmapped"}} 1.0' in (
        metrics(http, server)
    )

    listed = run(db_url, "quarantine", "list", profile=wrong)
    assert f"{NAME}  unmapped  : data.payload.message_id is required" in listed
    assert "still quarantined: data.payload.message_id is required" in run(
        db_url, "replay", profile=wrong
    )

    out = run(db_url, "replay", "--profile", str(fixed), profile=wrong)
    assert f"quarantine #{entry.id} {NAME} {MESSAGE_ID}: stored: " in out
    assert "1 quarantined: 1 was stored" in out
    assert held(server) == []
    assert all_bounces(http, server) == [SERVED]


def test_a_report_whose_state_cannot_be_found_keeps_its_message_id(
    db_url, start_buffer, http, tmp_path, fixed
):
    profile = telnyx_profile(tmp_path / "nostate.json", fields={"status": "data.payload.status"})
    server = start(start_buffer, db_url, profile)
    assert post(http, server).json() == {"result": "quarantined", "messageId": MESSAGE_ID}
    [entry] = held(server)
    assert (entry.type, entry.message_id, entry.parameter) == (
        "unmapped",
        MESSAGE_ID,
        "data.payload.status",
    )
    assert "1 was stored" in run(db_url, "replay", "--profile", str(fixed), profile=profile)
    assert all_bounces(http, server) == [SERVED]


def test_a_batch_keeps_only_the_report_it_cannot_map(db_url, start_buffer, http):
    server = start_buffer(settings_for(db_url))
    good = {"messageId": "ib-1", "to": "4915112345678", "status": {"groupName": "UNDELIVERABLE"}}
    no_id = {"to": "4915112345679", "status": {"groupName": "UNDELIVERABLE"}}
    answer = post(http, server, {"results": [good, no_id]}, "/api/v1/providers/infobip/report")
    body = contracts.validate("ingest-batch-response", answer.json())
    assert body["results"] == [
        {"result": "stored", "messageId": "ib-1"},
        {"result": "quarantined"},
    ]
    [entry] = held(server)
    assert (entry.type, json.loads(entry.raw_request)["report"]) == ("unmapped", no_id)


def test_replay_releases_a_kept_report_that_is_no_bounce_under_the_fixed_profile(
    db_url, start_buffer, http, wrong, fixed
):
    server = start(start_buffer, db_url, wrong)
    delivered = copy.deepcopy(FAILED)
    delivered["data"]["payload"]["to"][0]["status"] = "delivered"
    assert post(http, server, delivered).json() == {"result": "quarantined"}
    out = run(db_url, "replay", "--profile", str(fixed), profile=wrong)
    assert "released: not a bounce under this mapping (delivered)" in out
    assert held(server) == [] and all_bounces(http, server) == []


def test_a_mapping_that_fails_is_a_bug_logged_and_the_report_kept(
    db_url, start_buffer, http, wrong, monkeypatch, caplog
):
    server = start(start_buffer, db_url, wrong)

    def broken(self, report, query):
        raise KeyError("a bug")

    monkeypatch.setattr(GenericProfile, "_map", broken)
    assert post(http, server).json() == {"result": "quarantined"}
    [entry] = held(server)
    assert entry.type == "unmapped" and "a bug, logged for the operator" in entry.reason
    assert "a report could not be mapped" in caplog.text


# --- the bounds ---------------------------------------------------------------------------


def test_beyond_the_count_bound_the_provider_is_told_to_retry_and_nothing_is_stored(
    db_url, start_buffer, http, wrong, fixed
):
    server = start(start_buffer, db_url, wrong, unmapped_max_entries=1)
    assert post(http, server).status_code == 200
    infobip = {
        "results": [
            {"messageId": "ib-1", "to": "4915112345678", "status": {"groupName": "REJECTED"}},
            {"to": "4915112345678", "status": {"groupName": "REJECTED"}},
        ]
    }
    for body, path in ((FAILED, ENDPOINT), (infobip, "/api/v1/providers/infobip/report")):
        answer = post(http, server, body, path)
        error = assert_json_error(answer, 503)
        assert answer.headers["Retry-After"] == "30"
        assert "at their bound (1 entries of" in error["message"]
    assert len(held(server)) == 1 and all_bounces(http, server) == []  # not even ib-1
    text = metrics(http, server)
    assert 'smsbounce_reports_rejected_total{provider="infobip",reason="unmapped_full"} 2.0' in text
    # Bounces and acknowledgements go on as ever: the bound is on what cannot be mapped.
    good = {"results": infobip["results"][:1]}
    answer = post(http, server, good, "/api/v1/providers/infobip/report")
    assert answer.json()["results"] == [{"result": "stored", "messageId": "ib-1"}]
    # Once replay has released what the fixed profile maps, there is room again.
    run(db_url, "replay", "--profile", str(fixed), profile=wrong)
    assert post(http, server).status_code == 200


def test_beyond_the_byte_bound_the_provider_is_told_to_retry(db_url, start_buffer, http, wrong):
    server = start(start_buffer, db_url, wrong, unmapped_max_bytes=4000)
    assert post(http, server).status_code == 200
    [entry] = held(server)
    assert entry.raw_bytes == len(entry.raw_request) < 4000
    padded = {**FAILED, "padding": "x" * (4000 - entry.raw_bytes)}
    assert_json_error(post(http, server, padded), 503)
    assert len(held(server)) == 1


@pytest.mark.parametrize(
    ("used", "sizes", "fitting"),
    [
        (Usage(), [], 0),
        (Usage(), [10, 10], 2),
        (Usage(2, 10), [1], 1),
        (Usage(3, 10), [1], 0),  # the count
        (Usage(0, 95), [5, 1], 1),  # the bytes, exactly at the bound, then past it
    ],
    ids=["nothing", "room", "last-entry", "no-entry-left", "bytes"],
)
def test_the_bound_takes_records_in_order_while_they_fit(used, sizes, fitting):
    bounds = Bounds(entries=3, bytes=100)
    records = ["x" * n for n in sizes]
    assert bounds.fitting(used, records) == fitting
    assert (bounds.beyond(used, records) is None) == (fitting == len(records))


def test_a_report_to_keep_during_an_outage_is_not_acknowledged(tmp_path, wrong):
    url = f"sqlite:///{tmp_path / 'no-such-directory' / 'buffer.db'}"
    settings = settings_for(url, provider_files=(str(wrong),))
    with LocalServer(create_app(settings)) as server:
        answer = requests.post(server.url + ENDPOINT, json=FAILED)
    assert_json_error(answer, 503)  # the usage could not be read: the provider retries
    assert answer.json()["error"]["message"].startswith("the database is unavailable")


def test_a_bound_setting_is_read_and_a_bad_one_named():
    settings = Settings.from_env(
        {"SMSBOUNCE_UNMAPPED_MAX_ENTRIES": "5", "SMSBOUNCE_UNMAPPED_MAX_BYTES": "3000000"}
    )
    assert (settings.unmapped_max_entries, settings.unmapped_max_bytes) == (5, 3_000_000)
    with pytest.raises(SettingsError, match="SMSBOUNCE_UNMAPPED_MAX_BYTES"):
        Settings.from_env({"SMSBOUNCE_UNMAPPED_MAX_BYTES": "1000"})  # no body would fit
    with pytest.raises(SettingsError, match="SMSBOUNCE_UNMAPPED_MAX_ENTRIES"):
        Settings.from_env({"SMSBOUNCE_UNMAPPED_MAX_ENTRIES": "0"})


# --- keeping every report for a while ------------------------------------------------------


def in_days(days: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=days)


@pytest.fixture
def unlisted(tmp_path):
    """An onboarding profile that does not list Telnyx's failure states yet: a failure is a
    state it does not know, acknowledged and never served."""
    states = {"temporary": [], "permanent": []}
    return telnyx_profile(tmp_path / "unlisted.json", states=states)


def test_while_all_reports_are_kept_an_acknowledged_one_is_stored_by_replay_once_a_bounce(
    db_url, start_buffer, http, unlisted, fixed
):
    server = start(start_buffer, db_url, unlisted, keep_all_reports_until=in_days(7))
    assert post(http, server).json() == {"result": "acknowledged", "messageId": MESSAGE_ID}
    delivered = copy.deepcopy(FAILED)
    delivered["data"]["payload"]["id"] = "delivered-1"
    delivered["data"]["payload"]["to"][0]["status"] = "delivered"
    assert post(http, server, delivered).json()["result"] == "acknowledged"
    assert all_bounces(http, server) == []
    assert sorted((e.type, e.message_id) for e in held(server)) == [
        ("acknowledged", MESSAGE_ID),
        ("acknowledged", "delivered-1"),
    ]
    listed = run(db_url, "quarantine", "list", profile=unlisted)
    assert listed.strip().endswith(
        "0 held, 2 acknowledged kept; `smsbounce replay` maps them again"
    )

    dry = run(db_url, "replay", "--profile", str(fixed), "--dry-run", profile=unlisted)
    assert "2 acknowledged kept: 1 would be stored, 1 still acknowledged" in dry
    out = run(db_url, "replay", "--profile", str(fixed), profile=unlisted)
    assert "still acknowledged: not stored under this mapping (success)" in out
    assert all_bounces(http, server) == [SERVED]
    # The delivered one stays kept, for the next mapping to try.
    assert [(e.type, e.message_id) for e in held(server)] == [("acknowledged", "delivered-1")]
    # Kept acknowledged reports are no held bounces: the status page counts none.
    page = http.get(server.url + "/", auth=server.auth).text
    assert "delivered-1" not in page


def test_after_the_date_acknowledged_reports_are_not_kept(db_url, start_buffer, http, unlisted):
    server = start(start_buffer, db_url, unlisted, keep_all_reports_until=in_days(-1))
    assert post(http, server).json()["result"] == "acknowledged"
    assert held(server) == []


def test_acknowledged_reports_beyond_the_bound_are_acknowledged_without_being_kept(
    db_url, start_buffer, http, unlisted, caplog
):
    server = start(
        start_buffer,
        db_url,
        unlisted,
        keep_all_reports_until=in_days(1),
        unmapped_max_entries=1,
    )
    second = copy.deepcopy(FAILED)
    second["data"]["payload"]["id"] = "second"
    for body in (FAILED, second, second):
        assert post(http, server, body).json()["result"] == "acknowledged"
    assert [e.message_id for e in held(server)] == [MESSAGE_ID]
    assert caplog.text.count("acknowledged reports are no longer kept") == 1
    # The bound of acknowledged reports is their own: an unmapped report still fits.
    lost = copy.deepcopy(FAILED)
    del lost["data"]["payload"]["id"]
    assert post(http, server, lost).json() == {"result": "quarantined"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-07-01", datetime(2026, 7, 1, tzinfo=timezone.utc)),
        ("2026-07-01T12:30:00Z", datetime(2026, 7, 1, 12, 30, tzinfo=timezone.utc)),
        ("2026-07-01T12:30", datetime(2026, 7, 1, 12, 30, tzinfo=timezone.utc)),
        ("2026-07-01T14:30+02:00", datetime(2026, 7, 1, 12, 30, tzinfo=timezone.utc)),
    ],
)
def test_the_keep_all_date_is_iso_8601_utc_unless_it_says(value, expected):
    environ = {"SMSBOUNCE_KEEP_ALL_REPORTS_UNTIL": value}
    assert Settings.from_env(environ).keep_all_reports_until == expected


def test_a_keep_all_date_that_is_none_is_named():
    with pytest.raises(SettingsError, match="SMSBOUNCE_KEEP_ALL_REPORTS_UNTIL: 'next week'"):
        Settings.from_env({"SMSBOUNCE_KEEP_ALL_REPORTS_UNTIL": "next week"})


# --- what stays a 4xx -----------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["orderID", "status"], ids=["no-message-id", "no-state"])
def test_digital_interconnects_article_endpoint_still_answers_400(
    db_url, start_buffer, http, missing
):
    server = start_buffer(settings_for(db_url, keep_all_reports_until=in_days(1)))
    query = "&".join(p for p in report_query().split("&") if not p.startswith(missing + "="))
    assert_json_error(ingest(http, server, query), 400, missing)
    assert held(server) == [] and all_bounces(http, server) == []


def test_a_profile_whose_contract_says_400_refuses_what_it_cannot_map():
    class Strict(GenericProfile):
        keeps_unmapped = False

    document = json.loads((PROFILES / "telnyx.json").read_text())
    document["fields"]["messageId"] = "data.payload.message_id"
    profile = Strict(document, "test")
    body = json.dumps(FAILED).encode()
    taken = Intake().take(profile, RawRequest("POST", content_type=JSON, body=body))
    assert taken.error.status == 400 and taken.error.parameter == "data.payload.message_id"
    assert [v.result for v in taken.verdicts] == [Result.REJECTED]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"data": ', 400),
        ("application/xml", b"<data/>", 415),
        ("application/json", b"[" + b" " * 300_000 + b"]", 413),
    ],
    ids=["invalid-json", "wrong-content-type", "too-large"],
)
def test_a_request_not_in_the_providers_format_stays_a_4xx(
    db_url, start_buffer, http, wrong, content_type, body, status
):
    server = start(start_buffer, db_url, wrong)
    answer = http.post(server.url + ENDPOINT, data=body, headers={"Content-Type": content_type})
    assert_json_error(answer, status)
    assert held(server) == []


def test_an_old_quarantine_is_migrated_with_the_size_of_each_raw_request(db_url):
    from smsbounce.buffer import db, migrations

    database = db.connect(db_url, 5.0, 2)
    try:
        migrations.migrate(database)
        model = bind(database, QuarantinedReport)
        with db.session(database, write=True):
            database.execute_sql('ALTER TABLE quarantine DROP COLUMN "rawBytes"')
            database.execute_sql("DROP INDEX IF EXISTS quarantinedreport_type")
            database.execute_sql("DELETE FROM schema_version WHERE version = 5")
            database.execute_sql(
                'INSERT INTO quarantine (provider, "messageId", type, parameter, reason, '
                '"receivedAt", "rawRequest") VALUES '
                "('jasmin', 'j-1', 'Permanent', 'to', 'to is missing', 1, '{\"v\": 2}')"
            )
        assert [m.version for m in migrations.migrate(database)] == [5]
        with db.session(database):
            [row] = list(model.select())
            assert row.raw_bytes == len('{"v": 2}')
            indexes = {i.name for i in database.get_indexes("quarantine")}
        assert "quarantinedreport_type" in indexes
    finally:
        database.close_all()
