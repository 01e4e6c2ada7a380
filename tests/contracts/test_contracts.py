"""The schemas themselves: valid JSON Schema 2020-12, and the documented examples hold."""

import json
from datetime import datetime, timezone
from importlib.resources import files

import pytest

from smsbounce import contracts
from smsbounce.contracts.wire import parse_utc


def _examples():
    for path in sorted((files("smsbounce.contracts") / "examples").iterdir()):
        if path.name.endswith(".json"):
            for case in json.loads(path.read_text(encoding="utf-8")):
                name = path.name.removesuffix(".json")
                yield pytest.param(name, case, id=f"{name}: {case['description']}")


@pytest.mark.parametrize("name", contracts.names())
def test_every_schema_is_valid_json_schema(name):
    assert contracts.schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(("name", "case"), list(_examples()))
def test_examples(name, case):
    reasons = contracts.problems(name, case["data"])
    assert (reasons == []) == case["valid"], reasons


def test_violation_explains_every_reason():
    with pytest.raises(contracts.ContractViolation) as caught:
        contracts.validate("status-response", {"page": 0, "lastPage": "no", "status": []})
    assert caught.value.reasons == [
        "$.lastPage: 'no' is not of type 'boolean'",
        "$.page: 0 is not of type 'string'",
    ]


def _strptime(text: str):
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc), None
    except ValueError as exc:
        return None, str(exc)


def _parsed(text: str):
    try:
        return parse_utc(text), None
    except ValueError as exc:
        return None, str(exc)


@pytest.mark.parametrize(
    "text",
    [
        "20260201101500",
        "20240229000000",
        "20230229000000",
        "19000229000000",
        "20000229235959",
        "20260431000000",
        "20260001000000",
        "20261301000000",
        "20260100000000",
        "20260132000000",
        "00000101000000",
        "00010101000000",
        "99991231235959",
        "20260201240000",
        "20260201236000",
        "20260201235960",
    ],
)
def test_a_utc_stamp_reads_and_fails_exactly_as_strptime_reads_it(text):
    assert _parsed(text) == _strptime(text)


@pytest.mark.parametrize(
    "text", ["2026020110150", "202602011015000", "2026020110150a", "2026-02-01 10:1", ""]
)
def test_a_utc_stamp_that_is_not_14_ascii_digits_is_refused_naming_it(text):
    with pytest.raises(ValueError, match="is not YYYYMMDDhhmmss"):
        parse_utc(text)


def test_every_month_and_day_of_a_grid_reads_as_strptime_reads_it():
    for year in ("0000", "0001", "1900", "2000", "2023", "2024", "9999"):
        for month in range(14):
            for day in range(33):
                text = f"{year}{month:02d}{day:02d}235959"
                assert _parsed(text) == _strptime(text), text
