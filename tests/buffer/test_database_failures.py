"""A database that is locked, gone or restarted: 503 with Retry-After, nothing acknowledged,
and service resumes by itself (docs/spec.md §4)."""

import sqlite3
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from smsbounce.buffer.app import create_app
from smsbounce.plumbing.local_server import LocalServer
from tests.helpers import TcpProxy, all_bounces, assert_json_error, ingest, report_query
from tests.testenv import API_PASSWORD, API_USER, settings_for


def deliver(server, message_id):
    return ingest(requests, server, report_query(orderID=message_id))


def assert_unavailable(response):
    assert_json_error(response, 503)
    assert int(response.headers["Retry-After"]) > 0


def test_sqlite_locked_by_another_writer_answers_503_then_recovers(start_buffer, sqlite_url):
    server = start_buffer(settings_for(sqlite_url, db_timeout=0.3))
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    assert_unavailable(deliver(server, "while-locked"))
    assert time.monotonic() - started < 5, "a locked database must not hang the sender"
    blocker.execute("ROLLBACK")
    blocker.close()
    assert all_bounces(requests, server) == []
    assert deliver(server, "after").json()["result"] == "stored"


def test_sqlite_file_that_cannot_be_opened_answers_503(tmp_path):
    settings = settings_for(f"sqlite:///{tmp_path / 'no-such-directory' / 'buffer.db'}")
    with LocalServer(create_app(settings)) as server:
        assert requests.get(server.url + "/healthz").json() == {"status": "ok"}
        assert_unavailable(requests.get(server.url + "/readyz"))
        assert_unavailable(deliver(server, "x"))
        response = requests.get(
            server.url + "/api/v1/notifications/get", auth=(API_USER, API_PASSWORD)
        )
        assert_unavailable(response)


@pytest.fixture
def pg_behind_proxy(postgres_url):
    """The test database reached through a TCP proxy the test can cut and restore."""
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname, parts.port or 5432)
    proxy.start()
    netloc = (
        f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    )
    yield proxy, urlunsplit(parts._replace(netloc=netloc))
    proxy.stop()


def test_postgres_outage_answers_503_and_pooled_connections_recover(start_buffer, pg_behind_proxy):
    proxy, url = pg_behind_proxy
    server = start_buffer(settings_for(url, db_timeout=2.0))
    assert deliver(server, "before").json()["result"] == "stored"  # the pool now holds connections

    proxy.stop()  # every pooled connection is cut, as by a server restart, and none can be made
    started = time.monotonic()
    assert_unavailable(deliver(server, "during"))
    assert time.monotonic() - started < 10, "an unreachable database must not hang the sender"
    assert_unavailable(requests.get(server.url + "/api/v1/notifications/get", auth=server.auth))

    assert_unavailable(requests.get(server.url + "/readyz"))

    proxy.start()
    assert requests.get(server.url + "/readyz").json()["status"] == "ready"
    assert deliver(server, "after").json()["result"] == "stored"
    assert sorted(b["messageId"] for b in all_bounces(requests, server)) == ["after", "before"]


def test_postgres_backend_killed_between_requests_is_replaced(start_buffer, postgres_url):
    import psycopg

    server = start_buffer(settings_for(postgres_url))
    assert deliver(server, "one").json()["result"] == "stored"
    # psycopg 3 closes the connection at the end of its with block
    with psycopg.connect(postgres_url) as admin, admin.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    assert deliver(server, "two").json()["result"] == "stored"


def test_during_an_outage_bad_input_is_still_a_400_and_successes_are_acknowledged(
    start_buffer, pg_behind_proxy
):
    proxy, url = pg_behind_proxy
    server = start_buffer(settings_for(url, db_timeout=2.0))
    proxy.stop()
    assert_json_error(ingest(requests, server, report_query(msisdn=None)), 400, "msisdn")
    success = ingest(requests, server, report_query(status="0x451A delivered"))
    assert success.json()["result"] == "acknowledged"
    assert_unavailable(deliver(server, "a-bounce"))


def test_a_request_finding_the_pool_in_use_answers_503_then_gets_a_connection(start_buffer, db_url):
    # SMSBOUNCE_DB_POOL_SIZE=1: the test holds the one connection, as a slow request would.
    server = start_buffer(settings_for(db_url, db_pool_size=1, db_timeout=0.5))
    pool = server.store.database
    pool.connect()  # this thread's connection: the pool has none left for the server's
    try:
        started = time.monotonic()
        assert_unavailable(deliver(server, "waits"))
        assert time.monotonic() - started < 5, "a full pool must not hang the sender"
        assert_unavailable(requests.get(server.url + "/api/v1/notifications/get", auth=server.auth))
    finally:
        pool.close()  # back into the pool
    assert deliver(server, "after").json()["result"] == "stored"
    assert [b["messageId"] for b in all_bounces(requests, server)] == ["after"]


@pytest.fixture
def limited_role_url(postgres_url):
    """The test database as a role of its own whose CONNECTION LIMIT the test sets
    (superusers ignore limits); yields (url, set_limit)."""
    import psycopg

    role = f"smsbounce_limited_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(postgres_url, autocommit=True)
    cursor = admin.cursor()
    cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    cursor.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
    cursor.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')

    def set_limit(limit: int) -> None:
        cursor.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT {int(limit)}')
        if limit == 0:
            # The limit refuses new connections; end the pooled ones, as a failover would.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )

    parts = urlsplit(postgres_url)
    yield urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}")), set_limit
    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
    )
    cursor.execute(f'DROP OWNED BY "{role}"')
    cursor.execute(f'DROP ROLE "{role}"')
    admin.close()


def test_postgres_refusing_connections_answers_503_and_recovers_by_itself(
    start_buffer, limited_role_url
):
    url, set_limit = limited_role_url
    server = start_buffer(settings_for(url, db_timeout=2.0))
    assert deliver(server, "before").json()["result"] == "stored"

    set_limit(0)  # "too many connections for role": every new connection is refused
    assert_unavailable(deliver(server, "refused"))
    assert_unavailable(requests.get(server.url + "/api/v1/notifications/get", auth=server.auth))
    assert_unavailable(requests.get(server.url + "/readyz"))

    set_limit(-1)  # no restart, no intervention at the buffer
    assert requests.get(server.url + "/readyz").json()["status"] == "ready"
    assert deliver(server, "after").json()["result"] == "stored"
    assert sorted(b["messageId"] for b in all_bounces(requests, server)) == ["after", "before"]
