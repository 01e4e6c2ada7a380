"""The wire contracts of smsbounce: JSON Schema (2020-12) files in ``schemas/``.

Every service validates against the same files, and tests validate every message that crosses
the wire. Schemas are data; this module only loads them (once, checked) and explains failures.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

_SCHEMAS = files(__name__) / "schemas"


class ContractViolation(ValueError):
    """An instance does not match its schema; ``reasons`` lists every mismatch."""

    def __init__(self, name: str, reasons: list[str]):
        self.name = name
        self.reasons = reasons
        super().__init__(f"{name}: " + "; ".join(reasons))


def names() -> list[str]:
    """The contract names, e.g. ``status-response``."""
    suffix = ".schema.json"
    return sorted(p.name[: -len(suffix)] for p in _SCHEMAS.iterdir() if p.name.endswith(suffix))


@cache
def schema(name: str) -> dict[str, Any]:
    """The schema called ``name``, checked against the meta-schema on first load."""
    document = json.loads((_SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return document


@cache
def _registry() -> Registry:
    """Every schema under its $id, so one schema can refer to another by file name."""
    return Registry().with_resources(
        (schema(name)["$id"], Resource.from_contents(schema(name))) for name in names()
    )


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        schema(name), registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def problems(name: str, instance: Any) -> list[str]:
    """Every reason ``instance`` breaks contract ``name``, as ``path: message``; empty if valid."""
    found = sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message}" for e in found]


def validate(name: str, instance: Any) -> Any:
    """Return ``instance`` if it matches contract ``name``; raise ContractViolation otherwise."""
    reasons = problems(name, instance)
    if reasons:
        raise ContractViolation(name, reasons)
    return instance
