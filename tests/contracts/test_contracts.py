"""The schemas themselves: valid JSON Schema 2020-12, and the documented examples hold."""

import json
from importlib.resources import files

import pytest

from smsbounce import contracts


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
