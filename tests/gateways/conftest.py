"""Real third-party gateways: Kannel from Debian's packages, Jasmin from PyPI in a venv of its own.

Outside CI a missing gateway skips with what to install; under CI=true it fails (.ci/run
installs both).
"""

from __future__ import annotations

import pytest

from tests.testenv import IN_CI

from . import jasmin_gateway, kannel_gateway


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(message + " (CI=true: .ci/run installs it, it must not skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kannel_binaries():
    missing = kannel_gateway.missing()
    if missing:
        _unavailable(
            f"Kannel tests need {' and '.join(missing)}: apt-get install kannel (Debian's package)"
        )


@pytest.fixture(scope="session")
def jasmin_python():
    problem = jasmin_gateway.unavailable()
    if problem:
        _unavailable(f"Jasmin tests need {problem}")
    return jasmin_gateway.python()
