"""Fixtures of the fault suite: one throwaway PostgreSQL per session (tests crash and restart
it), a fresh database per test, and buffers started as real ``smsbounce serve`` processes."""

from __future__ import annotations

import pytest

from tests.fault.helpers import ThrowawayPostgres, unavailable
from tests.serve_process import ServeProcess


@pytest.fixture(scope="session")
def throwaway_pg():
    try:
        server = ThrowawayPostgres()
        server.start()
    except (FileNotFoundError, RuntimeError) as exc:
        unavailable(f"the fault suite needs a PostgreSQL of its own: {exc}")
    yield server
    server.destroy()


@pytest.fixture
def own_pg(throwaway_pg):
    """The session's PostgreSQL, running (a test before may have crashed it)."""
    try:
        throwaway_pg.fresh_database()
    except Exception:
        throwaway_pg.start()
    return throwaway_pg


@pytest.fixture
def own_pg_url(own_pg):
    """A fresh, empty database on the throwaway PostgreSQL."""
    return own_pg.fresh_database()


@pytest.fixture
def serve():
    """Start ``smsbounce serve`` processes; each one still running is stopped at teardown."""
    started: list[ServeProcess] = []

    def start(env: dict[str, str], *args: str) -> ServeProcess:
        process = ServeProcess(env, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.stop()
        process.process.stdout.close()
