"""contracts/openapi.yaml: refers to the JSON Schema files, and bundles into one document."""

from __future__ import annotations

from importlib.resources import files

import pytest

from smsbounce import contracts
from smsbounce.contracts.openapi import bundle, openapi, source


def _refs(node, found=None):
    found = [] if found is None else found
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append(node["$ref"])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _resolve(document, pointer):
    node = document
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_source_reuses_the_schema_files_instead_of_copying_them():
    file_refs = {ref.partition("#")[0] for ref in _refs(source()) if not ref.startswith("#")}
    assert file_refs == {
        f"schemas/{name}.schema.json"
        for name in (
            "di-report",
            "status-request",
            "status-response",
            "ingest-batch-response",
            "error",
            "ingest-response",
            "marketing-send-request",
            "marketing-send-response",
        )
    }
    folder = files("smsbounce.contracts")
    assert all((folder / ref).is_file() for ref in file_refs)


def test_the_bundle_is_self_contained_and_every_reference_resolves():
    document = openapi()
    refs = _refs(document)
    assert refs and all(ref.startswith("#/") for ref in refs)
    for ref in refs:
        _resolve(document, ref)
    bounce = document["components"]["schemas"]["status-response"]["properties"]["status"]
    assert bounce["items"]["$ref"] == "#/components/schemas/status-response/$defs/bounce"


def test_bundled_schemas_are_the_contract_files():
    bundled = openapi()["components"]["schemas"]["error"]
    assert bundled == {k: v for k, v in contracts.schema("error").items() if k[0] != "$"}


def test_openapi_returns_a_fresh_copy():
    openapi()["paths"].clear()
    assert openapi()["paths"]


@pytest.mark.parametrize(
    "path, tag",
    [
        ("/api/v1/notifications/set", "buffer"),
        ("/api/v1/notifications/get", "buffer"),
        ("/api/v1/notifications/clear", "buffer"),
        ("/healthz", "buffer"),
        ("/readyz", "buffer"),
        ("/http/hybris_sms/status", "cpi-proxy"),
        ("/http/hybris_sms/sms", "cpi-proxy"),
    ],
)
def test_each_service_route_is_described(path, tag):
    operations = openapi()["paths"][path]
    assert any(tag in op.get("tags", []) for op in operations.values() if isinstance(op, dict))


def test_bundle_leaves_its_input_alone():
    original = source()
    bundle(original)
    assert original == source()
