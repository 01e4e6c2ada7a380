"""Where is my data? (issue 23) ``serve`` says which database, which profiles, whether ingest is
open and what retention does; an admin command run elsewhere never creates a database; every
database error names the database."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests
from click.testing import CliRunner

from smsbounce.buffer import db
from smsbounce.buffer.cli import main
from smsbounce.buffer.db import DatabaseUnavailable
from tests.buffer.ops_helpers import visible_text
from tests.serve_process import SMSBOUNCE, ServeProcess

PROFILE = Path(__file__).parents[1] / "simulators" / "profiles" / "acme.json"


def started(server) -> dict[str, str]:
    """The start's ``name: value`` lines on standard output."""
    lines = [line.strip() for line in server.output if not line.startswith("{")]
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def test_serve_says_where_the_data_is_who_may_write_and_what_retention_does(db_url, tmp_path):
    env = {
        "SMSBOUNCE_DATABASE_URL": db_url,
        "SMSBOUNCE_API_PASSWORD": "where-is-my-data-password",
        "SMSBOUNCE_PROVIDER_FILES": str(PROFILE),
        "SMSBOUNCE_RETENTION_DAYS": "30",
    }
    with ServeProcess(env) as server:
        said = started(server)
        page = requests.get(server.url + "/", auth=server.auth).text
        assert server.stop() == 0
    if db_url.startswith("sqlite"):
        assert said["database"] == f"SQLite file {db_url.removeprefix('sqlite:///')}"
    else:
        assert said["database"].startswith("PostgreSQL postgresql://postgres@127.0.0.1:5432/")
        assert ":" not in said["database"].split("//", 1)[1].split("@")[0]  # no password
    assert said["profiles"].startswith("46elks, acme, aws-sms, bandwidth,")
    assert said["profiles"].endswith(f"(files: {PROFILE})")
    assert said["ingest"] == (
        "open to anyone who knows the URL (SMSBOUNCE_INGEST_TOKENS is not set)"
    )
    # A retention below the poll window is raised, and said so: at start and on the page.
    assert said["retention"].startswith("bounces are kept 366 days, not the 30 of")
    assert "Retention: bounces are kept 366 days, not the 30 of" in visible_text(page)


def test_with_tokens_serve_says_ingest_needs_one(sqlite_url):
    env = {
        "SMSBOUNCE_DATABASE_URL": sqlite_url,
        "SMSBOUNCE_API_PASSWORD": "where-is-my-data-password",
        "SMSBOUNCE_INGEST_TOKENS": "token-0123456789abcdef,token-fedcba9876543210",
    }
    with ServeProcess(env) as server:
        assert started(server)["ingest"] == (
            "only with one of the 2 tokens of SMSBOUNCE_INGEST_TOKENS"
        )
        assert server.stop() == 0


def test_an_admin_command_run_elsewhere_creates_no_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in (
        ["quarantine", "list"],
        ["replay", "--dry-run"],
        ["purge", "--older-than", "400"],
        ["providers", "codes"],
    ):
        result = CliRunner().invoke(main, command, env={"SMSBOUNCE_DATABASE_URL": ""})
        assert result.exit_code == 1, (command, result.output)
        assert f"no database at {tmp_path / 'smsbounce.db'}" in result.output
    assert list(tmp_path.iterdir()) == []


def test_migrate_creates_a_new_file_only_saying_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(main, ["migrate", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert f"creating a new database at {tmp_path / 'fresh.db'}" in result.output
    assert f"schema of SQLite file {tmp_path / 'fresh.db'} at version" in result.output


def test_every_database_error_names_the_database(tmp_path):
    database = db.connect("sqlite:////nonexistent/x.db", 2)
    try:
        with db.session(database):
            database.execute_sql("SELECT 1")
    except DatabaseUnavailable as exc:
        assert str(exc) == "unable to open database file (SQLite file /nonexistent/x.db)"
    else:
        raise AssertionError("a missing directory opened")
    result = subprocess.run(
        [SMSBOUNCE, "serve", "--port", "0"],
        env={"PATH": os.environ["PATH"], "SMSBOUNCE_DATABASE_URL": "sqlite:////nonexistent/x.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "/nonexistent/x.db" in result.stderr


def test_a_postgresql_error_names_the_database_without_its_password(pg_server_url):
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_server_url)
    missing = urlunsplit(
        parts._replace(
            netloc=f"{parts.username or 'postgres'}:not-shown@{parts.hostname}:{parts.port}",
            path="/smsbounce_no_such_database",
        )
    )
    database = db.connect(missing, 2)
    try:
        with db.session(database):
            database.execute_sql("SELECT 1")
    except DatabaseUnavailable as exc:
        where = f"postgresql://{parts.username or 'postgres'}@{parts.hostname}:{parts.port}"
        assert f"(PostgreSQL {where}/smsbounce_no_such_database)" in str(exc)
        assert "not-shown" not in str(exc)
    else:
        raise AssertionError("a database that does not exist opened")
    finally:
        database.close_all()
