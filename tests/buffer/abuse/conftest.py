"""The abuse suite (issue 14): what an anonymous client on the internet may send, on SQLite and
PostgreSQL. Every answer the suite receives is counted; the summary line gives how many were
server errors (the figure the issue asks for: it must be 0)."""

from __future__ import annotations

import pytest
import requests

from tests.raw_http import send_raw, status_of
from tests.serve_process import ServeProcess
from tests.testenv import API_PASSWORD, API_USER

ANSWERS: list[int] = []


def record(response, *args, **kwargs):
    ANSWERS.append(response.status_code)


@pytest.fixture
def http():
    """A requests session whose every answer is counted for the suite's 5xx figure."""
    with requests.Session() as session:
        session.hooks["response"].append(record)
        yield session


def raw_request(url: str, data: bytes, timeout: float = 10) -> bytes:
    """``send_raw``, its answer counted for the suite's 5xx figure (0: not HTTP)."""
    received = send_raw(url, data, timeout)
    ANSWERS.append(status_of(received))
    return received


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request, tmp_path_factory):
    """``smsbounce serve`` as operators run it (its own HTTP server in front), one per module
    and database: what only the production server sees (framing, over-long lines). A module's
    ``SERVE_ENV`` adds to its environment."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('abuse') / 'buffer.db'}"
    else:
        url = request.getfixturevalue("pg_server_url")
    env = {
        "SMSBOUNCE_DATABASE_URL": url,
        "SMSBOUNCE_API_USER": API_USER,
        "SMSBOUNCE_API_PASSWORD": API_PASSWORD,
        **getattr(request.module, "SERVE_ENV", {}),
    }
    with ServeProcess(env, "--workers", "1") as server:
        server.auth = (API_USER, API_PASSWORD)
        yield server


def pytest_terminal_summary(terminalreporter):
    if ANSWERS:
        errors = sum(1 for status in ANSWERS if status >= 500)
        terminalreporter.write_line(
            f"abuse suite: {len(ANSWERS)} requests, {errors} answered with a server error (5xx), "
            f"{ANSWERS.count(0)} not answered in HTTP"
        )
