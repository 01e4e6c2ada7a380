"""``smsbounce providers list | check | try``: what an integrator types to test a mapping."""

import json

import pytest
from click.testing import CliRunner

from smsbounce.buffer.cli import main


def run(*args):
    result = CliRunner().invoke(main, ["providers", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_list_shows_every_builtin_with_endpoint_and_table():
    code, output = run("list")
    assert code == 0
    for name in ("di", "twilio", "vonage", "infobip", "sinch", "kannel", "jasmin"):
        assert f"/api/v1/providers/{name}/report" in output
    assert "code temporary: 0xDBF3" in output
    code, output = run("list", "--json")
    assert {p["name"] for p in json.loads(output)} >= {"di", "twilio", "jasmin"}


def test_check_accepts_a_good_file_and_names_the_problem_of_a_bad_one(tmp_path):
    good = tmp_path / "acme.json"
    good.write_text(json.dumps({"name": "acme", "fields": {"messageId": "id", "recipient": "to"}}))
    assert run("check", str(good)) == (
        0,
        "ok: profile 'acme', endpoint /api/v1/providers/acme/report\n",
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "acme", "fields": {"messageId": "id"}, "extra": 1}))
    code, output = run("check", str(bad))
    assert code == 1
    assert str(bad) in output and "'extra' was unexpected" in output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["di", "orderid=1&time=101500&date=01022026&msisdn=%2B491&status=0xDBF3%20retry"],
            'stored and served to Marketing: {"messageId": "1", "recipient": "+491", '
            '"statusCode": "0xDBF3", "statusText": "retry", "type": "Temporary", '
            '"timestamp": "20260201101500"}',
        ),
        (
            ["di", "orderid=1&time=101500&date=01022026&msisdn=%2B491&status=delivered"],
            "acknowledged, not served (delivered)",
        ),
        (
            ["di", "orderid=1&time=101500&date=01022026&status=x"],
            "rejected (400): msisdn is required",
        ),
        (
            ["sinch", '{"batch_id": "b1", "recipient": "+44", "status": "Expired", "code": 406}'],
            '"type": "Temporary"',
        ),
        (
            ["jasmin", "id=j1&level=2&message_status=UNDELIV&err=001&donedate=2612011716"],
            "quarantined, answered as taken, not served (Permanent, messageId j1): "
            "to is missing: the report carries no recipient",
        ),
        (
            ["kannel", "id=k1&to=%2B491&type=2&reply=stat%3AUNDELIV+err%3A001+text%3AGr%FC&ts=0"],
            '"statusCode": "001", "statusText": "stat:UNDELIV err:001"',
        ),
    ],
    ids=["bounce", "success", "rejected", "json-body", "quarantined", "latin1-free-text"],
)
def test_try_prints_what_a_sample_becomes(args, expected):
    code, output = run("try", *args)
    assert code == 0
    assert expected in output


def test_try_unknown_profile():
    code, output = run("try", "nobody", "x=1")
    assert code == 1
    assert "no profile 'nobody'" in output
