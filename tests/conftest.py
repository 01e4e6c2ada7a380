"""Shared fixtures: real databases (SQLite file, PostgreSQL server) and real buffer servers."""

from __future__ import annotations

import contextlib
import os

import pytest

from smsbounce.buffer.app import create_app
from smsbounce.buffer.settings import Settings
from smsbounce.buffer.store import Store
from smsbounce.plumbing.local_server import LocalServer
from smsbounce.simulators.pytest_plugin import empty_database, throwaway_database
from tests.testenv import IN_CI, PG_URL_VARIABLE, settings_for

# tests/plugin/ runs users' suites against the plugin (pytest allows this only at the top).
pytest_plugins = ["pytester"]


def _pg_unavailable(reason: str):
    message = f"PostgreSQL tests need {PG_URL_VARIABLE}: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: PostgreSQL must run, not skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server_url():
    """A database of this test session's own on the PostgreSQL server, dropped at the end.

    Its own database keeps concurrent test runs on one server from seeing each other's rows.
    """
    admin_url = os.environ.get(PG_URL_VARIABLE)
    if not admin_url:
        _pg_unavailable("it is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    import psycopg

    database = contextlib.ExitStack()
    try:
        url = database.enter_context(throwaway_database(admin_url))
    except psycopg.OperationalError as exc:
        _pg_unavailable(f"cannot connect to {admin_url}: {str(exc).strip()}")
    with database:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return empty_database(f"sqlite:///{tmp_path / 'buffer.db'}")


@pytest.fixture
def postgres_url(pg_server_url):
    return empty_database(pg_server_url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request):
    """Each database test runs once per backend, on an empty table."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def buffer_settings(db_url):
    """Settings of a buffer under test; override fields with ``dataclasses.replace``."""
    return settings_for(db_url)


@pytest.fixture
def start_buffer():
    """Start buffers from settings; every one is stopped (and its pool closed) at teardown."""
    started = []

    def start(settings: Settings, clock=None, **store_options) -> LocalServer:
        store = Store.open(settings, clock, **store_options)
        store.create_tables()
        server = LocalServer(create_app(settings, store))
        server.store = store
        server.auth = (settings.api_user, settings.api_password)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        server.store.close()


@pytest.fixture
def buffer_server(start_buffer, buffer_settings):
    """A live buffer on a free port: ``.url``, ``.auth`` (the Marketing credentials)."""
    return start_buffer(buffer_settings)
