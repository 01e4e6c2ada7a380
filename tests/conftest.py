"""Shared fixtures: real databases (SQLite file, PostgreSQL server) and real buffer servers."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from smsbounce.buffer.app import create_app
from smsbounce.buffer.settings import Settings
from smsbounce.buffer.store import Store
from smsbounce.plumbing.serving import LocalServer
from tests.testenv import IN_CI, PG_URL_VARIABLE, settings_for


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
    import psycopg2

    try:
        admin = psycopg2.connect(admin_url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        _pg_unavailable(f"cannot connect to {admin_url}: {str(exc).strip()}")
    admin.autocommit = True
    name = f"smsbounce_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    yield urlunsplit(parts._replace(path="/" + name))
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _empty(url: str) -> str:
    store = Store.open(Settings(database_url=url))
    store.create_tables()
    store.clear()
    store.close()
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    return _empty(f"sqlite:///{tmp_path / 'buffer.db'}")


@pytest.fixture
def postgres_url(pg_server_url):
    return _empty(pg_server_url)


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
