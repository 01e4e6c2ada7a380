"""What an operator looks for (issue 23): which of each provider's codes were soft, hard,
acknowledged or quarantined, by which rule (status page and ``smsbounce providers codes``); the
last day's ingest as a picture; and whether Marketing still polls (status page, ``/readyz``,
``/metrics``). Seeded traffic from two providers, on SQLite and PostgreSQL, read in Chromium."""

from __future__ import annotations

import json
import struct
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import requests
from click.testing import CliRunner

from smsbounce.buffer.cli import main
from smsbounce.contracts.wire import format_utc
from tests.buffer.ops_helpers import browse, visible_text
from tests.helpers import send

VONAGE = "/api/v1/providers/vonage/report"


def vonage(server, message_id, status, err_code):
    fields = {
        "messageId": message_id,
        "msisdn": "4915112345678",
        "scts": "2602011015",
        "status": status,
        "err-code": err_code,
    }
    answer = requests.get(f"{server.url}{VONAGE}?{urlencode(fields)}", timeout=10)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def seeded(buffer_server):
    """DI: two soft 0xDBF3, one hard 0x4503 (listed), one 0x9999 nobody listed (default), one
    delivery. Vonage: failed with err-code 2 (soft by code) twice, failed with 5 (hard by
    state), a state the profile does not list, a delivery."""
    with requests.Session() as http:
        send(http, buffer_server, "di-1", status="0xDBF3 retrying")
        send(http, buffer_server, "di-2", status="0xDBF3 retrying")
        send(http, buffer_server, "di-3", status="0x4503 out of coverage")
        send(http, buffer_server, "di-4", status="0x9999 something new")
        send(http, buffer_server, "di-5", status="0x451A delivered")
    vonage(buffer_server, "v-1", "failed", "2")
    vonage(buffer_server, "v-2", "failed", "2")
    vonage(buffer_server, "v-3", "failed", "5")
    vonage(buffer_server, "v-4", "lost-in-space", "0")
    vonage(buffer_server, "v-5", "delivered", "0")
    return buffer_server


EXPECTED = [
    # provider, state, code, reports, classified, rule
    ("di", "", "0xDBF3", 2, "soft bounce", "temporary"),
    ("di", "", "0x4503", 1, "hard bounce", "permanent"),
    ("di", "", "0x451A", 1, "acknowledged (delivered)", "success"),
    ("di", "", "0x9999", 1, "hard bounce", "default"),
    ("vonage", "failed", "2", 2, "soft bounce", "codes.temporary"),
    ("vonage", "delivered", "0", 1, "acknowledged (delivered)", "states.delivered"),
    ("vonage", "failed", "5", 1, "hard bounce", "states.permanent"),
    ("vonage", "lost-in-space", "0", 1, "acknowledged (in progress)", "state not listed"),
]


def codes_cli(*args):
    result = CliRunner().invoke(main, ["providers", "codes", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_codes_each_provider_sent_and_what_became_of_them(seeded, buffer_settings, tmp_path):
    page = requests.get(seeded.url + "/", auth=seeded.auth)  # drawn after the counts are written
    assert page.status_code == 200
    url = ["--database-url", buffer_settings.database_url]
    shown = json.loads(codes_cli("--json", *url))
    got = [
        (c["provider"], c["state"], c["code"], c["count"], c["classified"], c["rule"])
        for c in shown
    ]
    assert sorted(got) == sorted(EXPECTED)
    # The table flags what fell through to the default: the row an operator must fix.
    table = codes_cli(*url, "--provider", "di").splitlines()
    assert table[0].split() == ["provider", "state", "code", "reports", "classified", "rule"]
    [flagged] = [line for line in table if line.endswith("<- not in the profile")]
    assert "0x9999" in flagged and "hard bounce" in flagged
    assert not any("vonage" in line for line in table)

    # The same on the status page, as a person sees it, with the picture of the day.
    shot = tmp_path / "status.png"
    text = visible_text(browse(seeded.url + "/", seeded.auth, screenshot=str(shot)))
    assert "The mapping at work, last 24 hours" in text
    assert "vonage failed 2 2 soft bounce codes.temporary" in text
    assert "vonage lost-in-space 0 1 acknowledged (in progress) state not listed" in text
    assert "di 0x9999 1 hard bounce default" in text
    assert "Reports per hour, last 24 hours" in text
    assert "hard bounces stored (3)" in text and "soft bounces stored (4)" in text
    assert "acknowledged (delivered, in progress) (3)" in text
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1200, 900)


def test_the_chart_draws_each_outcome_of_the_last_day(seeded):
    page = requests.get(seeded.url + "/", auth=seeded.auth).text
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert 'id="ingest-chart"' in chart
    # One bar this hour, one rectangle per outcome group that happened.
    titles = sorted(t.split("</title>")[0].split(": ", 1)[1] for t in chart.split("<title>")[1:])
    assert titles == [
        "3 acknowledged (delivered, in progress)",
        "3 hard bounces stored",
        "4 soft bounces stored",
    ]
    assert "<script" not in page and "src=" not in page


def test_unknown_provider_and_bad_age_are_refused(buffer_settings):
    url = ["--database-url", buffer_settings.database_url]
    result = CliRunner().invoke(main, ["providers", "codes", *url, "--provider", "vonnage"])
    assert result.exit_code == 1 and "no profile 'vonnage'; known:" in result.output
    result = CliRunner().invoke(main, ["providers", "codes", *url, "--since", "7 weeks"])
    assert result.exit_code == 2 and "e.g. 24h or 7d" in result.output


def test_whether_marketing_still_polls(buffer_server):
    server = buffer_server
    now = datetime.now(timezone.utc).replace(microsecond=0)
    window = {
        "startTimeUTC": format_utc(now - timedelta(minutes=10)),
        "endTimeUTC": format_utc(now - timedelta(minutes=5)),
        "page": "0",
        "sourceSystem": "MKT",
    }
    with requests.Session() as http:
        send(http, server, "waits-1", status="0x4503 out of coverage")
        send(http, server, "waits-2", status="0xDBF3 retrying")
        poll = http.get(server.url + "/api/v1/notifications/get", params=window, auth=server.auth)
        assert poll.status_code == 200 and poll.json()["status"] == []
        page = http.get(server.url + "/", auth=server.auth).text  # the poll is written here
        ready = http.get(server.url + "/readyz").json()
        metrics = http.get(server.url + "/metrics", auth=server.auth).text
    [mkt] = ready["marketing"]
    assert mkt["sourceSystem"] == "MKT" and mkt["bouncesWaiting"] == 2
    assert 0 <= mkt["secondsSinceLastPoll"] < 60 and mkt["oldestWaitingSeconds"] >= 0
    assert 'smsbounce_bounces_waiting{source_system="MKT"} 2.0' in metrics
    assert 'smsbounce_marketing_poll_age_seconds{source_system="MKT"}' in metrics
    text = visible_text(page)
    assert "Marketing polls" in text and "MKT" in text
    # The bounces arrived after the window Marketing last read: both wait for its next poll.
    row = text[text.index("MKT") :]
    assert row.split()[6] == "2", row


def test_the_page_counts_what_it_lists_whatever_another_worker_has_not_written(
    start_buffer, buffer_settings
):
    # Two workers of one buffer: each counts in its own memory and writes every few seconds.
    first, second = start_buffer(buffer_settings), start_buffer(buffer_settings)
    with requests.Session() as http:
        send(http, first, "seen-by-first", status="0x4503 out of coverage")
        send(http, second, "seen-by-second", status="0x4503 out of coverage")
    text = visible_text(requests.get(second.url + "/", auth=second.auth).text)
    assert "seen-by-first" in text and "seen-by-second" in text  # both listed ...
    assert "Stored — hard bounce (Permanent) 2 2" in text  # ... and both counted
