"""Who may import whom, checked by walking every import of the shipped code (docs/layout.md).

Data and dependencies flow one way: the plumbing imports nothing of ours; the contracts only
the plumbing; the buffer and the CPI proxy the plumbing and the contracts; the simulators and
``verify`` never the buffer or the proxy (they must judge any implementation, ours included);
only the wiring (``simulators/demo.py``, ``simulators/services.py`` and the pytest plugin
``simulators/pytest_plugin.py``) imports every service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("plumbing", "contracts", "buffer", "cpi_proxy", "simulators")
ALLOWED = {
    "plumbing": set(),
    "contracts": {"plumbing"},
    "buffer": {"plumbing", "contracts"},
    "cpi_proxy": {"plumbing", "contracts"},
    "simulators": {"plumbing", "contracts", "simulators"},
}
WIRING = {
    "smsbounce.simulators.demo",
    "smsbounce.simulators.services",
    "smsbounce.simulators.pytest_plugin",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["smsbounce", *parts])


def _imports(path: Path) -> set[str]:
    """Absolute names of our modules ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "smsbounce":  # from smsbounce import contracts
                found.update(f"smsbounce.{alias.name}" for alias in node.names)
            else:
                found.add(target)
    return {name for name in found if name.startswith("smsbounce.")}


def _shipped_files():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield folder, path


@pytest.mark.parametrize(
    "folder, path",
    list(_shipped_files()),
    ids=lambda value: str(value.relative_to(ROOT)) if isinstance(value, Path) else None,
)
def test_imports_follow_the_layout(folder, path):
    if _module_name(path) in WIRING:
        return
    forbidden = sorted(
        name for name in _imports(path) if name.split(".")[1] not in ALLOWED[folder] | {folder}
    )
    assert not forbidden, f"{folder}/ may import only {sorted(ALLOWED[folder])}: {forbidden}"


def test_the_walker_sees_relative_and_package_imports(tmp_path):
    # The check above is only as good as the walker: it must resolve every import form used.
    imported = _imports(ROOT / "buffer" / "app.py")
    assert {"smsbounce.buffer.ingest", "smsbounce.plumbing.web"} <= imported
    assert "smsbounce.contracts" in _imports(ROOT / "buffer" / "operator_routes.py")
    assert "smsbounce.buffer.reports" in _imports(ROOT / "buffer" / "providers" / "base.py")
    services = _imports(ROOT / "simulators" / "services.py")
    assert {"smsbounce.buffer.app", "smsbounce.cpi_proxy.app"} <= services


def test_the_map_names_every_module_of_the_buffer():
    """docs/layout.md is the map a new contributor reads first: it stays whole."""
    text = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    modules = sorted(
        path.name
        for path in (ROOT / "buffer").rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    )
    assert [name for name in modules if name not in text] == []
