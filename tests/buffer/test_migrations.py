"""Versioned migrations: ``schema_version``, ``smsbounce migrate``, checked at start and by
``/readyz``; a database from before migrations is version 1."""

import subprocess
import threading

import pytest
import requests

from smsbounce.buffer import db, migrations
from smsbounce.buffer.app import create_app
from smsbounce.buffer.store import Store
from smsbounce.plumbing.local_server import LocalServer
from tests.buffer.ops_helpers import (
    FRESH_BACKENDS,
    fresh_database,
    insert_bounces,
    legacy_table,
    message_ids,
)
from tests.helpers import assert_json_error, role_that_only_writes, send
from tests.serve_process import SMSBOUNCE, ServeProcess
from tests.testenv import settings_for


@pytest.fixture(params=FRESH_BACKENDS)
def fresh_db_url(request, tmp_path):
    yield from fresh_database(request, tmp_path)


def _versions(url):
    database = db.connect(url, 5)
    with database.connection_context():
        rows = database.execute_sql("SELECT version FROM schema_version ORDER BY version")
        versions = [row[0] for row in rows]
    database.close_all()
    return versions


def test_a_new_database_is_migrated_once_to_the_latest_version(fresh_db_url):
    database = db.connect(fresh_db_url, 5)
    assert migrations.current(database) == 0
    applied = migrations.migrate(database)
    assert [m.version for m in applied] == [m.version for m in migrations.MIGRATIONS]
    assert migrations.migrate(database) == []
    assert migrations.current(database) == migrations.LATEST
    migrations.check(database)
    database.close_all()
    assert _versions(fresh_db_url) == list(range(1, migrations.LATEST + 1))


def test_a_database_from_before_migrations_is_version_1_and_keeps_its_rows(fresh_db_url):
    legacy_table(fresh_db_url)
    store = Store.open(settings_for(fresh_db_url))
    insert_bounces(store, [("old-1", 1)])
    assert migrations.current(store.database) == 1
    later = list(range(2, migrations.LATEST + 1))
    assert [m.version for m in migrations.migrate(store.database)] == later
    assert message_ids(store) == {"old-1"}
    store.close()
    assert _versions(fresh_db_url) == [1, *later]


def test_concurrent_migrations_apply_each_step_once(fresh_db_url):
    results, errors = [], []

    def run():
        database = db.connect(fresh_db_url, 10)
        try:
            results.append(migrations.migrate(database))
        except Exception as exc:  # collected: asserted below
            errors.append(exc)
        finally:
            database.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(applied) for applied in results) == [0, 0, migrations.LATEST]
    assert _versions(fresh_db_url) == list(range(1, migrations.LATEST + 1))


def test_workers_starting_together_on_a_new_sqlite_file_never_find_it_locked(tmp_path):
    """SQLite refuses ``PRAGMA journal_mode = wal`` at once, busy handler or not, while another
    connection opens the file: before the pool retried its pragmas, three connections
    migrating a new file together failed "database is locked" on about one file in 13."""
    errors = []

    def start(url: str) -> None:
        database = db.connect(url, 10)
        try:
            migrations.migrate(database)
        except Exception as exc:  # collected: asserted below
            errors.append(exc)
        finally:
            database.close_all()

    for n in range(40):
        url = f"sqlite:///{tmp_path / f'new-{n}.db'}"
        workers = [threading.Thread(target=start, args=(url,)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert errors == []


@pytest.mark.parametrize("fresh_db_url", ["postgres"], indirect=True)
def test_a_role_that_may_not_change_the_schema_is_told_so_and_may_run_migrate_once_done(
    fresh_db_url,
):
    from urllib.parse import urlsplit

    import psycopg
    from click.testing import CliRunner

    from smsbounce.buffer.admin import migrate

    with role_that_only_writes(fresh_db_url) as writer:
        refused = CliRunner().invoke(migrate, ["--database-url", writer])
        assert refused.exit_code == 1 and refused.exception.__class__ is SystemExit
        assert "the database role may not read or change the schema (permission denied" in (
            refused.output
        )
        assert "run `smsbounce migrate` as a role that may" in refused.output
        database = db.connect(fresh_db_url, 5)
        assert migrations.current(database) == 0  # nothing half-made
        database.close_all()

        done = CliRunner().invoke(migrate, ["--database-url", fresh_db_url])
        assert done.exit_code == 0 and f"version {migrations.LATEST}" in done.output
        role = urlsplit(writer).username
        with psycopg.connect(fresh_db_url, autocommit=True) as admin:  # as an operator grants
            admin.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
        # Up to date: nothing it must not do, so the role that only writes may run it too.
        again = CliRunner().invoke(migrate, ["--database-url", writer])
        assert again.exit_code == 0, again.output
        assert "nothing to do" in again.output


def test_readyz_says_ready_only_when_migrated(fresh_db_url):
    legacy_table(fresh_db_url)
    settings = settings_for(fresh_db_url)
    # The app's store closed at the end: psycopg 3 warns of a connection collected while open.
    store = Store.open(settings)
    try:
        with LocalServer(create_app(settings, store)) as server:
            error = assert_json_error(requests.get(server.url + "/readyz"), 503)
            assert "smsbounce migrate" in error["message"]
            database = db.connect(fresh_db_url, 5)
            migrations.migrate(database)
            database.close_all()
            assert requests.get(server.url + "/readyz").json()["status"] == "ready"
    finally:
        store.close()


def test_readyz_refuses_a_schema_newer_than_the_release(db_url):
    settings = settings_for(db_url)
    store = Store.open(settings)
    with store.database.connection_context():
        store.database.execute_sql(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)"
        )
    try:
        with LocalServer(create_app(settings, store)) as server:
            error = assert_json_error(requests.get(server.url + "/readyz"), 503)
            assert "newer than this release" in error["message"]
    finally:
        with store.database.connection_context():
            store.database.execute_sql("DELETE FROM schema_version WHERE version = 99")
        store.close()


def test_serve_migrates_at_start_by_default(fresh_db_url):
    legacy_table(fresh_db_url)
    env = {"SMSBOUNCE_DATABASE_URL": fresh_db_url, "SMSBOUNCE_API_PASSWORD": "strong-test-password"}
    with ServeProcess(env, "--workers", "1") as server:
        assert any("schema migrated to version 2" in line for line in server.output)
        assert requests.get(server.url + "/readyz").json()["status"] == "ready"
        assert send(requests, server, "after-migration") == "stored"
        assert server.stop() == 0


def test_serve_can_refuse_to_start_until_migrated_by_hand(fresh_db_url):
    legacy_table(fresh_db_url)
    env = {
        "PATH": "/usr/bin:/bin",
        "SMSBOUNCE_DATABASE_URL": fresh_db_url,
        "SMSBOUNCE_MIGRATE_ON_START": "false",
    }
    refused = subprocess.run(
        [SMSBOUNCE, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1
    assert "schema is at version 1, this release needs" in refused.stderr
    assert "run `smsbounce migrate`" in refused.stderr and "Traceback" not in refused.stderr

    migrate = [SMSBOUNCE, "migrate"]
    done = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "applied version 2" in done.stdout
    again = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=60)
    assert "nothing to do" in again.stdout

    with ServeProcess(
        {**env, "SMSBOUNCE_API_PASSWORD": "strong-test-password"}, "--workers", "1"
    ) as server:
        assert requests.get(server.url + "/readyz").json()["status"] == "ready"
        assert server.stop() == 0
