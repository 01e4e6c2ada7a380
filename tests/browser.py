"""Headless Chromium (Debian's ``chromium``), for tests that assert what a person sees."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest

from tests.testenv import IN_CI

NAMES = ("chromium", "chromium-browser", "google-chrome")
# Without the background-networking flags Chromium keeps calling out of a closed network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1200,900",
)


def chromium() -> str:
    """The browser's path; skips the test without one (fails under CI=true)."""
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    message = "headless Chromium is needed: apt-get install -y chromium"
    if IN_CI:
        pytest.fail(message + " (CI=true: it must be installed)", pytrace=False)
    pytest.skip(message)


def run(url: str, *what: str) -> subprocess.CompletedProcess:
    """Chromium on ``url`` with ``what`` (e.g. ``--dump-dom``) in a fresh profile."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *what, url],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
