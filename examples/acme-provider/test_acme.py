"""ACME's delivery reports, pinned: each captured sample must still become what we expect, and
the whole path — ACME's callback, the buffer, CPI, Marketing's page-by-page poll — must serve
the bounces once and certify under ``smsbounce verify``.

Run with ``pytest`` in this folder (add ``--smsbounce-database-url postgresql://…`` to run the
buffer on PostgreSQL).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests

HERE = Path(__file__).parent
PROFILE = HERE / "acme.json"
SAMPLES = json.loads((HERE / "samples.json").read_text(encoding="utf-8"))
SERVED_FIELDS = ("type", "recipient", "statusCode", "timestamp")


def query(sample: dict) -> str:
    """The query string of a sample's request line (``GET ?…``)."""
    return sample["request"].split("?", 1)[1]


def outcome(sample: dict) -> dict:
    """What the buffer makes of ``sample``, in the samples' terms (``served`` and the served
    item's fields), through the same door a live request takes (``smsbounce providers try``)."""
    smsbounce = Path(sys.executable).with_name("smsbounce")
    command = [smsbounce, "providers", "try", "--json", "--file", PROFILE, "acme", query(sample)]
    answer = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    [verdict] = json.loads(answer.stdout)
    served = verdict["result"] == "stored"
    return {"served": served, **({k: verdict["item"][k] for k in SERVED_FIELDS} if served else {})}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["name"] for s in SAMPLES])
def test_a_captured_report_becomes_what_we_expect(sample):
    assert outcome(sample) == sample["expect"]


def test_the_samples_travel_the_whole_path_once(smsbounce_buffer, smsbounce_marketing):
    """ACME calls the buffer; Marketing polls CPI page by page and gets exactly the bounces."""
    poller = smsbounce_marketing.poller()
    for sample in SAMPLES:
        answer = requests.get(f"{smsbounce_buffer.ingest_url('acme')}?{query(sample)}", timeout=10)
        assert answer.status_code == 200, answer.text
    # A window ending a second from now holds every report already answered (no settle lag).
    window = poller.tick(datetime.now(timezone.utc) + timedelta(seconds=1))
    assert window.failure is None and not window.violations, window.violations
    served = {i.message_id: i for i in poller.interactions}
    expected = {parse_qs(query(s))["ref"][0]: s["expect"] for s in SAMPLES if s["expect"]["served"]}
    assert set(served) == set(expected)
    for ref, expect in expected.items():
        got = served[ref]
        assert (got.type, got.recipient, got.status_code, got.timestamp) == tuple(
            expect[k] for k in SERVED_FIELDS
        )


def test_cpi_in_front_of_the_buffer_certifies(
    smsbounce_buffer, smsbounce_cpi_proxy, smsbounce_verify
):
    """``smsbounce verify`` against Marketing's endpoint: CPI's status route in front of the
    buffer, with a round trip of verify's own reports. Its reports are DI's until verify takes
    a profile file (``provider=``); then this sends ACME's."""
    result = smsbounce_verify(
        smsbounce_cpi_proxy.status_url,
        smsbounce_cpi_proxy.auth,
        ingest_url=smsbounce_buffer.ingest_url("di"),
        volume=30,
    )
    assert result.passed, result.table()
