"""The status page at ``/``: behind the Marketing user's auth, server-rendered, numbers masked;
rendered in headless Chromium and read as a person reads it."""

import struct

import requests

from smsbounce.buffer import migrations
from smsbounce.buffer.app import create_app
from smsbounce.plumbing.local_server import LocalServer
from tests.buffer.ops_helpers import browse, fill_for_status_page, visible_text
from tests.helpers import assert_json_error
from tests.testenv import settings_for

NUMBERS = ("+4915112345678", "+4917098765432", "+4915255501234", "+4915112340000")


def test_the_page_needs_the_marketing_credentials(buffer_server):
    response = requests.get(buffer_server.url + "/")
    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_the_page_is_self_contained_html_without_numbers_or_markup_from_reports(buffer_server):
    fill_for_status_page(requests.Session(), buffer_server)
    response = requests.get(buffer_server.url + "/", auth=buffer_server.auth)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<script" not in page and "src=" not in page and "href=" not in page
    assert "&lt;script&gt;" in page
    for number in NUMBERS:
        assert number not in page and number[3:-2] not in page


def test_a_person_sees_outcomes_rate_latest_bounces_and_database_state(buffer_server, tmp_path):
    fill_for_status_page(requests.Session(), buffer_server)
    shot = tmp_path / "status.png"
    text = visible_text(browse(buffer_server.url + "/", buffer_server.auth, screenshot=str(shot)))
    assert "smsbounce buffer" in text
    backend = (
        "SQLite"
        if "sqlite" in buffer_server.store.database.__class__.__name__.lower()
        else "PostgreSQL"
    )
    latest = migrations.LATEST
    assert f"{backend} OK" in text and f"schema version {latest} of {latest}" in text
    # Outcome table: label, last hour, last day.
    assert "Stored — hard bounce (Permanent) 3 3" in text
    assert "Stored — soft bounce (Temporary) 1 1" in text
    assert "Acknowledged — delivered 1 1" in text
    assert "Acknowledged — in progress 1 1" in text
    assert "Ignored — duplicate 1 1" in text
    assert "Rejected — invalid report 1 1" in text
    assert "Quarantined — hard bounce with an unreadable field 1 1" in text
    # The held bounce, with why: a person can act on it.
    assert "Quarantine 1 held" in text
    assert "jasmin jas-0001 Permanent to is missing: the report carries no recipient" in text
    assert "1.80 reports / minute, last 5 minutes" in text
    # Latest bounces, newest first, numbers masked, report text shown as text.
    assert (
        "4711000006 +49*********00 Permanent 0x4524 <script>alert('blacklisted')</script>" in text
    )
    assert "+49*********78 Permanent 0x4503 Message 1 at destination of +49*********78" in text
    assert text.index("4711000006") < text.index("4711000001")
    for number in NUMBERS:
        assert number not in text
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 900)


def test_a_database_that_is_down_is_shown_not_hidden(tmp_path):
    settings = settings_for(f"sqlite:///{tmp_path / 'missing' / 'b.db'}")
    with LocalServer(create_app(settings)) as server:
        auth = (settings.api_user, settings.api_password)
        assert requests.get(server.url + "/", auth=auth).status_code == 200
        text = visible_text(browse(server.url + "/", auth))
    assert "SQLite DOWN unavailable:" in text
    assert "Latest bounces" not in text and "Quarantine" not in text
