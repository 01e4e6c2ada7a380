"""``smsbounce providers test`` and ``capture``: a provider's real callbacks pinned with what each
must become, checked through the same door a live request takes (issue 21)."""

from __future__ import annotations

import json
from importlib.resources import files
from xml.etree import ElementTree

import pytest
import requests
from click.testing import CliRunner

from smsbounce.buffer.cli import main

PROFILES = files("smsbounce.buffer.providers") / "profiles"
# Vonage's delivery receipt fields, as its API reference lists them.
HARD = "messageId=0A01&msisdn=4915112345678&scts=2602011015&status=failed&err-code=5"
SOFT = "messageId=0A02&msisdn=4915112345678&scts=2602011015&status=failed&err-code=2"


def run(*args):
    result = CliRunner().invoke(main, ["providers", *args], catch_exceptions=False)
    return result.exit_code, result.output


def sample(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_samples_that_become_what_they_say_pass(tmp_path):
    path = sample(
        tmp_path,
        "vonage.sample",
        "# expect: stored Permanent\n# statusCode: 5\n# recipient: +4915112345678\n"
        f"POST /report\nContent-Type: application/x-www-form-urlencoded\n\n{HARD}\n"
        "###\n"
        f"# expect: stored Temporary\n# type: Temporary\nGET /report?{SOFT}\n",
    )
    code, output = run("test", "vonage", path, "--junit", str(tmp_path / "j.xml"))
    assert code == 0, output
    assert output.splitlines()[-1] == "2 samples: 2 passed, 0 failed"
    suite = ElementTree.parse(tmp_path / "j.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")


def test_a_sample_whose_expected_type_differs_fails_with_why(tmp_path):
    path = sample(
        tmp_path,
        "soft.sample",
        "# expect: stored Temporary\n"
        f"POST /r\nContent-Type: application/x-www-form-urlencoded\n\n{HARD}\n",
    )
    report = tmp_path / "r.json"
    code, output = run(
        "test", "vonage", path, "--json", str(report), "--junit", str(tmp_path / "j.xml")
    )
    assert code == 1
    assert "FAIL  soft.sample" in output
    assert "expected stored Temporary, got stored Permanent (rule states.permanent)" in output
    [entry] = json.loads(report.read_text())
    assert entry["passed"] is False and entry["verdicts"][0]["seen"]["rule"] == "states.permanent"
    failure = ElementTree.parse(tmp_path / "j.xml").getroot().find("testcase/failure")
    assert "expected stored Temporary" in failure.get("message")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("GET /r?a=1\n", "says nothing about what must become of it"),
        ("# expect: served\nGET /r?a=1\n", "expect stored | acknowledged"),
        ("# expect: stored\nFETCH /r\n", "a request line is GET or POST"),
        ("# expect: stored\n", "has no request line"),
    ],
    ids=["no-expectation", "unknown-result", "bad-method", "no-request"],
)
def test_an_unreadable_sample_is_named_with_its_line(tmp_path, text, problem):
    path = sample(tmp_path, "bad.sample", text)
    code, output = run("test", "vonage", path)
    assert code == 2 and "bad.sample:" in output and problem in output


def test_a_profile_name_that_is_no_profile_is_refused_naming_the_known_ones(tmp_path):
    code, output = run(
        "test", "vonnage", sample(tmp_path, "x.sample", "# expect: stored\nGET /r\n")
    )
    assert code == 2 and "no profile 'vonnage'" in output


def test_captured_traffic_pins_the_mapping_and_a_profile_change_fails_it(
    buffer_server, buffer_settings, tmp_path
):
    for fields in (HARD, SOFT):
        answer = requests.get(f"{buffer_server.url}/api/v1/providers/vonage/report?{fields}")
        assert answer.json()["result"] == "stored"
    jasmin = {"id": "j-1", "level": "2", "message_status": "UNDELIV", "err": "001"}
    requests.post(f"{buffer_server.url}/api/v1/providers/jasmin/report", data=jasmin)
    out = tmp_path / "captured"
    url = ["--database-url", buffer_settings.database_url]
    code, output = run("capture", "--out", str(out), *url)
    assert (code, output.strip()) == (0, f"3 of 3 kept reports written to {out}")
    files = sorted(str(p) for p in out.iterdir())
    assert [p.rsplit("/", 1)[1] for p in files] == [
        "jasmin-j-1.sample",
        "vonage-0A01.sample",
        "vonage-0A02.sample",
    ]
    assert run("test", "vonage", *files[1:])[0] == 0
    assert run("test", "jasmin", files[0])[0] == 0  # still quarantined: pinned as it is

    # A profile change that turns err-code 5 soft breaks the pinned hard bounce.
    vonage = json.loads((PROFILES / "vonage.json").read_text())
    vonage["codes"]["temporary"].append("5")
    changed = tmp_path / "vonage.json"
    changed.write_text(json.dumps(vonage))
    code, output = run("test", str(changed), files[1])
    assert code == 1
    assert "expected stored Permanent, got stored Temporary (rule codes.temporary)" in output
