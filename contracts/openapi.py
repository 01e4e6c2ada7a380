"""``contracts/openapi.yaml`` as one self-contained document (what ``/openapi.json`` serves).

The YAML refers to the JSON Schema files (``schemas/x.schema.json#/…``) so nothing is copied;
clients of a served document cannot follow relative file references, so this bundles each
referenced file once under ``components/schemas/x`` and points every reference there.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from . import schema as _schema

_PREFIX, _SUFFIX = "schemas/", ".schema.json"


def _rebase(node: Any, base: str) -> Any:
    """Point a schema's own ``#/…`` references at its new place under ``base``."""
    if isinstance(node, dict):
        return {
            key: base + value[1:]
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _rebase(value, base)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(value, base) for value in node]
    return node


def bundle(document: dict) -> dict:
    """Inline every schema file ``document`` refers to, directly or through another schema
    file, under ``components/schemas``; a new dict is returned."""
    document = copy.deepcopy(document)
    bundled = document.setdefault("components", {}).setdefault("schemas", {})

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                path, _, fragment = ref.partition("#")
                # "schemas/x.schema.json" from the YAML, "x.schema.json" between schema files
                name = path.removeprefix(_PREFIX).removesuffix(_SUFFIX)
                if name not in bundled:
                    base = f"#/components/schemas/{name}"
                    schema = {k: v for k, v in _schema(name).items() if k not in ("$id", "$schema")}
                    bundled[name] = _rebase(schema, base)
                    visit(bundled[name])
                node["$ref"] = f"#/components/schemas/{name}{fragment}"
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document)
    return document


def source() -> dict:
    """``contracts/openapi.yaml`` as written (with file references)."""
    return yaml.safe_load(
        (files("smsbounce.contracts") / "openapi.yaml").read_text(encoding="utf-8")
    )


@cache
def _bundled() -> dict:
    return bundle(source())


def openapi() -> dict:
    """The bundled OpenAPI 3.1 document; a fresh copy each call (callers may change it)."""
    return copy.deepcopy(_bundled())
