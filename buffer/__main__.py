"""``smsbounce serve``: the buffer on granian (worker processes, each answering with a pool of
threads; no slow client holds one; graceful on SIGTERM)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile
from pathlib import Path

import click

from smsbounce.plumbing.granian_server import GranianServer
from smsbounce.plumbing.serving import CannotListen
from smsbounce.plumbing.wsgi_bridge import WsgiBridge

from . import db, logs, migrations, retention
from .clock import ClockWatch
from .db import DatabaseUnavailable, UnsupportedDatabaseUrl
from .providers import unchecked_signatures
from .request_params import MAX_BODY_BYTES
from .settings import Settings, SettingsError
from .store import Store

# In-flight requests get this long to finish after SIGTERM (Cloud Foundry kills after 10 s).
GRACEFUL_SECONDS = 30


def _announce(settings: Settings):
    def on_listening(url: str) -> None:
        # The password first: whoever waits for "listening on" has then seen it too.
        if settings.password_generated:
            click.echo(
                f"Generated password for user {settings.api_user!r} (shown once; set "
                f"SMSBOUNCE_API_PASSWORD to choose one): {settings.api_password}"
            )
        click.echo(f"smsbounce buffer listening on {url}")

    return on_listening


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """What must never appear in a log line."""
    values = (
        settings.api_password,
        settings.twilio_auth_token,
        *settings.signature_keys.values(),
        *settings.ingest_tokens,
    )
    return tuple(v for v in values if v)


def run(settings: Settings) -> None:
    """Prepare logs, metrics and the schema, then serve until SIGTERM / Ctrl-C."""
    log_config = logs.configure(
        secrets=secrets_of(settings), show_numbers=settings.log_phone_numbers
    )
    owned = None
    if settings.metrics_dir:
        # Counts of an earlier run must not be added to this one's.
        for stale in Path(settings.metrics_dir).glob("*.db"):
            stale.unlink()
    else:
        owned = tempfile.mkdtemp(prefix="smsbounce-metrics-")
        settings = dataclasses.replace(settings, metrics_dir=owned)
    # prometheus_client reads this itself, once, when it is imported: it must be set first.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.metrics_dir
    try:
        _serve(settings, log_config)
    finally:
        if owned:
            shutil.rmtree(owned, ignore_errors=True)


def _prepare_schema(store: Store, settings: Settings) -> None:
    try:
        if settings.migrate_on_start:
            for migration in migrations.migrate(store.database):
                click.echo(f"schema migrated to version {migration.version}: {migration.name}")
        else:
            migrations.check(store.database)
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"cannot open the database: {exc}") from None
    except migrations.MigrationError as exc:
        raise click.ClickException(str(exc)) from None


def _what_it_serves(settings: Settings, store: Store, profiles) -> list[str]:
    """Where the data is and who may write to it, said at every start: the database (a
    relative SQLite path depends on where the command runs), the profiles and their files,
    whether ingest is open, and what retention does (docs/operations.md)."""
    files = ", ".join(os.path.abspath(path) for path in settings.provider_files)
    tokens = len(settings.ingest_tokens)
    return [
        f"database: {db.where(store.database)}",
        f"profiles: {', '.join(sorted(profiles))}" + (f" (files: {files})" if files else ""),
        (
            f"ingest: only with one of the {tokens} tokens of SMSBOUNCE_INGEST_TOKENS"
            if tokens
            else "ingest: open to anyone who knows the URL (SMSBOUNCE_INGEST_TOKENS is not set)"
        ),
        f"retention: {retention.explain(settings)}",
    ]


def _serve(settings: Settings, log_config: dict) -> None:
    from prometheus_client import multiprocess

    from .app import create_app  # imports prometheus_client: only once the directory is set
    from .retention import Schedule

    store = Store.open(settings)
    _prepare_schema(store, settings)
    # Once at start (warns when off by more than half the lag); then at every /readyz and
    # every /metrics scrape.
    with contextlib.suppress(DatabaseUnavailable):
        ClockWatch(store, settings.settle_lag).measure()
    # Workers are forked: each must open its own connections, none inherited from here.
    store.close()
    app = create_app(settings, store)
    profiles = app.reports.profiles  # loaded once, by the app
    for line in _what_it_serves(settings, store, profiles):
        click.echo(line)
    unchecked = unchecked_signatures(profiles)
    if unchecked:
        logging.getLogger("smsbounce.buffer").info(
            "signatures not checked, their key's variable is not set: %s", ", ".join(unchecked)
        )
    schedules = []

    def worker_started():
        app.outcomes.start()
        if settings.purge_interval:
            schedule = Schedule(store, settings, app.metrics.observe)
            schedule.start()
            schedules.append(schedule)

    def worker_stopped():
        for schedule in schedules:
            schedule.stop()
        app.outcomes.stop()
        store.close()
        multiprocess.mark_process_dead(os.getpid(), settings.metrics_dir)

    on_loop = None
    if settings.loop_intake:
        from .loop_intake import LoopIntake

        on_loop = LoopIntake(app, store, settings)
    bridge = WsgiBridge(
        app,
        on_loop=on_loop,
        threads=settings.threads,
        body_timeout=settings.body_timeout,
        max_body=MAX_BODY_BYTES,
        on_start=worker_started,
        on_stop=worker_stopped,
    )
    try:
        server = GranianServer(
            bridge,
            settings.host,
            settings.port,
            workers=settings.workers,
            header_timeout=settings.header_timeout,
            graceful_timeout=GRACEFUL_SECONDS,
            log_config=log_config,
        )
    except CannotListen as exc:
        raise click.ClickException(str(exc)) from None
    server.run(on_listening=_announce(settings))


@click.command()
@click.option("--host", help="Interface to listen on (SMSBOUNCE_HOST, default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (PORT, default 8080; 0 = any).")
@click.option(
    "--database-url", help="sqlite:///file.db or postgresql://… (SMSBOUNCE_DATABASE_URL)."
)
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (SMSBOUNCE_WORKERS).")
def serve(host, port, database_url, workers):
    """Run the buffer: providers report to /api/v1/notifications/set, Marketing reads /get."""
    try:
        settings = Settings.from_env(os.environ)
        overrides = {"host": host, "port": port, "database_url": database_url, "workers": workers}
        settings = dataclasses.replace(
            settings, **{k: v for k, v in overrides.items() if v is not None}
        )
        run(settings)
    except (SettingsError, UnsupportedDatabaseUrl) as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    serve()
