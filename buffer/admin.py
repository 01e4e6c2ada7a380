"""``smsbounce migrate`` and ``smsbounce purge``: the schema and retention, from the shell."""

from __future__ import annotations

import dataclasses
import os
from contextlib import contextmanager
from datetime import datetime, timezone

import click
from peewee import ProgrammingError

from . import db, migrations, retention
from .db import DatabaseUnavailable, UnsupportedDatabaseUrl
from .settings import Settings, SettingsError
from .store import Store

DATABASE_URL_OPTION = click.option(
    "--database-url", help="sqlite:///file.db or postgresql://… (SMSBOUNCE_DATABASE_URL)."
)


def _counted(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


@contextmanager
def database_work(store: Store):
    """Run a command's database work: failures become one sentence, the pool is closed."""
    try:
        yield
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"cannot open the database: {exc}") from None
    except migrations.MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def open_store(database_url: str | None, *, create: bool = False) -> tuple[Settings, Store]:
    """The buffer's settings and its database. An admin command never creates a database
    (``create``: only ``migrate``, which says so): run in another directory, the default
    ``sqlite:///smsbounce.db`` would otherwise be a new, empty file, not the buffer's."""
    try:
        settings = Settings.from_env(os.environ)
        if database_url:
            settings = dataclasses.replace(settings, database_url=database_url)
        store = Store.open(settings)
    except (SettingsError, UnsupportedDatabaseUrl) as exc:
        raise click.ClickException(str(exc)) from None
    path = db.sqlite_file(store.database)
    if path is not None and not os.path.exists(path):
        store.close()
        if not create:
            raise click.ClickException(
                f"no database at {path}: give the buffer's with --database-url or "
                "SMSBOUNCE_DATABASE_URL (a relative sqlite:/// path is taken from the current "
                "directory)"
            )
        click.echo(f"creating a new database at {path}")
    return settings, store


@click.command(short_help="Bring the database schema to this release's version.")
@DATABASE_URL_OPTION
def migrate(database_url):
    """Bring the database schema to this release's version (safe to run repeatedly and from
    several places at once). A SQLite file that does not exist yet is created, and said so."""
    _, store = open_store(database_url, create=True)
    with database_work(store):
        before = migrations.current(store.database)
        applied = migrations.migrate(store.database)
    for migration in applied:
        click.echo(f"applied version {migration.version}: {migration.name}")
    where = db.where(store.database)
    if applied:
        click.echo(f"schema of {where} at version {migrations.LATEST} (was {before})")
    else:
        click.echo(f"schema of {where} already at version {before}; nothing to do")
    _make_upsert_function(store)


def _make_upsert_function(store) -> None:
    """The event loop's upsert function, made by the role that migrates (docs/operations.md):
    optional, so a failure is said and the command still succeeds."""
    try:
        with database_work(store):
            name = store.make_upsert_function()
    except ProgrammingError as exc:
        click.echo(
            f"the upsert's function was not created ({str(exc).strip()}): the buffer's "
            "workers create it, or send the statement itself"
        )
        return
    if name is not None:
        click.echo(f"upsert function {name} in place")


@click.command(short_help="Delete old bounces, never one a window can still poll.")
@click.option(
    "--older-than",
    type=click.FloatRange(min=1),
    metavar="DAYS",
    help="Delete bounces received more than DAYS ago (default SMSBOUNCE_RETENTION_DAYS).",
)
@DATABASE_URL_OPTION
def purge(older_than, database_url):
    """Delete old bounces in batches of 1,000 — never one a window can still poll: the age is
    at least SMSBOUNCE_MAX_WINDOW_DAYS plus the settle lag. Safe while the buffer runs."""
    settings, store = open_store(database_url)
    days = older_than if older_than is not None else settings.retention_days
    if days is None:
        raise click.ClickException(
            "say how old a bounce must be to go: --older-than DAYS or SMSBOUNCE_RETENTION_DAYS"
        )
    with database_work(store):
        migrations.check(store.database)
        done = retention.purge(store, settings, days)
    before = datetime.fromtimestamp(done.before_us / 1e6, timezone.utc)
    click.echo(
        f"deleted {_counted(done.deleted, 'bounce')} received before "
        f"{before:%Y-%m-%d %H:%M:%S} UTC in {_counted(done.batches, 'batch', 'batches')}"
    )
    if done.kept_days > days:
        click.echo(
            f"kept {done.kept_days:g} days, not {days:g}: a window of up to "
            f"SMSBOUNCE_MAX_WINDOW_DAYS ({settings.max_window_days}) days plus the settle lag "
            "can still be polled; lower SMSBOUNCE_MAX_WINDOW_DAYS to keep less"
        )
