"""What `pip install .` brings must be enough to run every command: each third-party module
the shipped packages import is a declared runtime dependency (not only a test extra)."""

import ast
import sys
from importlib.metadata import distributions, packages_distributions, requires
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("buffer", "cpi_proxy", "contracts", "plumbing", "simulators")
# Imported only where an extra is installed: psycopg (postgres) when the database URL asks for
# it; pytest and responses (pytest) by the pytest plugin, which pytest loads, and its mocks.
OPTIONAL = {"psycopg", "pytest", "responses"}


def _imported_modules():
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    yield from (alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield node.module.split(".")[0]


def _runtime_requirements() -> set[str]:
    names = set()
    for requirement in requires("smsbounce") or []:
        if "extra ==" in requirement:
            continue
        name = requirement.split(";")[0]
        for separator in "<>=!~[ ":
            name = name.split(separator)[0]
        names.add(name.lower().replace("_", "-"))
    return names


def test_every_third_party_import_is_a_runtime_dependency():
    owners = packages_distributions()
    declared = _runtime_requirements()
    missing = set()
    for module in set(_imported_modules()) - {"smsbounce"} - OPTIONAL:
        if module in sys.stdlib_module_names or module == "__future__":
            continue
        distributions = owners.get(module)
        if distributions is None:
            pytest.fail(f"{module} is imported but installed by no distribution")
        if not {d.lower().replace("_", "-") for d in distributions} & declared:
            missing.add(f"{module} ({', '.join(distributions)})")
    assert not missing, f"imported but not declared in [project] dependencies: {sorted(missing)}"


def test_the_distribution_installs_one_top_level_name():
    # Generic top-level names (buffer, contracts, simulators) collide with other distributions:
    # pip would mix two packages' files in one folder. Editable installs add only their hooks.
    # The installed metadata, not a build's smsbounce.egg-info that the checkout may also hold.
    [installed] = [
        d for d in distributions(name="smsbounce") if Path(d.locate_file("")).resolve() != ROOT
    ]
    tops = {
        path.parts[0]
        for path in installed.files or []
        if path.suffix == ".py" and not path.parts[0].startswith("__editable__")
    }
    assert tops <= {"smsbounce"}, f"installed top-level names besides smsbounce: {sorted(tops)}"
