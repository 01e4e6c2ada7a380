"""What a clone's documents point at exists in the clone: relative links, and every
``docs/spec.md §N`` citation in code and docs names a section the specification has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)")
CITATION = re.compile(r"docs/spec\.md ((?:§[0-9.]*[0-9][,–\s]*)+)")


def _tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _spec_sections() -> set[str]:
    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} ([0-9]+(?:\.[0-9]+)?)\.? ", text, flags=re.M))


@pytest.mark.parametrize("path", _tracked("*.md"), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    missing = [
        target
        for target in LINK.findall(path.read_text(encoding="utf-8"))
        if not target.startswith(("http://", "https://", "mailto:"))
        and not (path.parent / target).exists()
    ]
    assert not missing, f"{path.relative_to(ROOT)} links to what the clone lacks: {missing}"


def test_spec_citations_name_existing_sections():
    sections = _spec_sections()
    assert {"1", "2.1", "2.5", "4", "7"} <= sections  # the parser reads the headings
    unknown = set()
    for path in _tracked("*.py", "*.md", "*.json", "*.yaml"):
        for group in CITATION.findall(path.read_text(encoding="utf-8", errors="replace")):
            for number in re.findall(r"§([0-9.]*[0-9])", group):
                if number not in sections:
                    unknown.add(f"{path.relative_to(ROOT)}: §{number}")
    assert not unknown, f"citations of sections docs/spec.md does not have: {sorted(unknown)}"


def test_the_specification_is_cited_inside_the_clone():
    # The benchmark peer (the article's own design) stays outside on purpose; the spec does not.
    stale = re.compile(r"\.\./shared/(SPEC|seed)|\bSPEC §")
    outside = [
        str(path.relative_to(ROOT))
        for path in _tracked("*.py", "*.md", "*.toml", "*.ini", "*.yaml", "*.yml", "*.json")
        if path.name != "test_docs.py"
        and stale.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not outside, f"files citing the specification outside the clone: {outside}"


# A path of ours in backticks, e.g. `buffer/store.py` or `tests/fault/` (not globs or patterns).
FOLDERS = "buffer|cpi_proxy|contracts|plumbing|simulators|tests|bench|docs"
PATH = re.compile(rf"`((?:{FOLDERS})/[\w./-]*)`")


@pytest.mark.parametrize("path", _tracked("*.md"), ids=lambda p: str(p.relative_to(ROOT)))
def test_paths_named_in_docs_exist(path):
    missing = [
        name
        for name in PATH.findall(path.read_text(encoding="utf-8"))
        if "*" not in name and not (ROOT / name.split("::")[0]).exists()
    ]
    assert not missing, f"{path.relative_to(ROOT)} names paths the clone lacks: {missing}"
