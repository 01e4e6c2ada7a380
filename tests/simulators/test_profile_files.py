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


# The built-in profiles without a format module of their own are rendered from their files too
# (Clickatell's status and code share one field: it is refused, below).
RENDERED_BUILT_INS = ["plivo", "telnyx", "bird", "aws-sms", "bandwidth", "gatewayapi", "46elks"]


@pytest.mark.parametrize(
    "profile", FILES + RENDERED_BUILT_INS, ids=lambda p: Path(p).stem if "/" in p else p
)
def test_verify_certifies_a_buffer_in_a_profile_files_format(
    start_buffer, buffer_settings, profile
):
    files = (profile,) if profile.endswith(".json") else ()
    server = start_buffer(dataclasses.replace(buffer_settings, provider_files=files))
    name = json.loads(Path(profile).read_text())["name"] if files else profile
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


def test_a_built_in_whose_state_and_code_share_a_field_is_refused_with_why():
    with pytest.raises(ProfileFormatError, match="read the same 'statusCode'"):
        make_format("clickatell")
    result = CliRunner().invoke(demo, ["--provider", "clickatell"])
    assert result.exit_code == 2 and "cannot write two values there" in result.output


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
