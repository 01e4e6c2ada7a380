"""ACME's delivery reports, pinned: every captured sample must still become what it says, and
the whole path — ACME's callbacks, the buffer, CPI, Marketing's page-by-page poll — must serve
the bounces once and certify under ``smsbounce verify`` in ACME's own format.

Run with ``pytest`` in this folder (add ``--smsbounce-database-url postgresql://…`` to run the
buffer on PostgreSQL).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from smsbounce.buffer.providers.samples import read_samples

HERE = Path(__file__).parent
PROFILE = HERE / "acme.json"
SAMPLE_FILES = sorted((HERE / "samples").glob("*.sample"))
SMSBOUNCE = Path(sys.executable).with_name("smsbounce")


def test_every_captured_report_becomes_what_its_sample_says(tmp_path):
    """`smsbounce providers test`: the same door a live request takes; a JUnit file for CI."""
    junit = tmp_path / "providers.xml"
    command = [SMSBOUNCE, "providers", "test", PROFILE, *SAMPLE_FILES, "--junit", junit]
    answer = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert junit.exists()


def test_the_samples_travel_the_whole_path_once(smsbounce_buffer, smsbounce_marketing):
    """ACME calls the buffer; Marketing polls CPI page by page and gets exactly the bounces."""
    import requests

    samples = [sample for path in SAMPLE_FILES for sample in read_samples(path)]
    poller = smsbounce_marketing.poller()
    for sample in samples:
        url = f"{smsbounce_buffer.ingest_url('acme')}?{sample.request.query_string}"
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200, answer.text
    # A window ending a second from now holds every report already answered (no settle lag).
    window = poller.tick(datetime.now(timezone.utc) + timedelta(seconds=1))
    assert window.failure is None and not window.violations, window.violations
    served = {i.message_id: i for i in poller.interactions}
    expected = {
        sample.request.query_string.split("ref=", 1)[1].split("&", 1)[0]: sample
        for sample in samples
        if any(c.what == "expect" and c.expected.startswith("stored") for c in sample.checks)
    }
    assert set(served) == set(expected)
    for ref, sample in expected.items():
        checks = {c.what: c.expected for c in sample.checks}
        got = served[ref]
        assert (got.type, got.recipient, got.status_code, got.timestamp) == (
            checks["expect"].split()[1],
            checks["recipient"],
            checks["statusCode"],
            checks["timestamp"],
        )


def test_cpi_in_front_of_the_buffer_certifies_in_acmes_format(
    smsbounce_buffer, smsbounce_cpi_proxy, smsbounce_verify
):
    """``smsbounce verify`` against Marketing's endpoint (CPI's status route in front of the
    buffer), with a round trip of verify's own reports written in ACME's format."""
    result = smsbounce_verify(
        smsbounce_cpi_proxy.status_url,
        smsbounce_cpi_proxy.auth,
        ingest_url=smsbounce_buffer.ingest_url("acme"),
        provider=str(PROFILE),
        volume=30,
    )
    assert result.passed, result.table()
