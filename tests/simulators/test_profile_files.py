"""Any provider from its profile file (issue 21): the DI simulator renders its callbacks from the
file, ``demo`` runs in its format and ``verify`` certifies an endpoint with them — for the ACME
profile of docs/providers.md, a list-shaped and a JSON-envelope profile, on SQLite and
PostgreSQL (the whole flow for each: tests/simulators/test_demo_flow.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from smsbounce.simulators.demo import main as demo
from smsbounce.simulators.di.formats import ProfileFormatError, make_format
from tests.simulators.verify.helpers import SMALL_VOLUME, verify

PROFILES = Path(__file__).parent / "profiles"
FILES = sorted(str(p) for p in PROFILES.glob("*.json"))


@pytest.mark.parametrize("profile", FILES, ids=lambda p: Path(p).stem)
def test_verify_certifies_a_buffer_in_a_profile_files_format(
    start_buffer, buffer_settings, profile
):
    server = start_buffer(dataclasses.replace(buffer_settings, provider_files=(profile,)))
    name = json.loads(Path(profile).read_text())["name"]
    result = verify(
        server.url + "/api/v1/notifications/get",
        server.auth,
        f"{server.url}/api/v1/providers/{name}/report",
        provider=profile,
        volume=SMALL_VOLUME,
    )
    failed = {v.check: v.evidence for v in result.verdicts if v.failed}
    assert failed == {}


def test_the_demo_command_takes_a_profile_file(sqlite_url):
    args = ["--provider", FILES[0], "--messages", "30", "--database-url", sqlite_url]
    result = CliRunner().invoke(demo, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "perfect reconciliation" in result.output


def test_a_profile_the_simulator_cannot_write_is_refused_with_why(tmp_path):
    pattern = {
        "name": "patterned",
        "fields": {"messageId": "id", "recipient": {"from": "to", "pattern": "tel:(.*)"}},
    }
    path = tmp_path / "patterned.json"
    path.write_text(json.dumps(pattern))
    with pytest.raises(ProfileFormatError, match="fields.recipient reads its value with a pattern"):
        make_format(str(path))
    result = CliRunner().invoke(demo, ["--provider", str(path)])
    assert result.exit_code == 2 and "cannot write a value back" in result.output
