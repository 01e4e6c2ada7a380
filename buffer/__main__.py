"""``smsbounce serve``: the buffer on gunicorn (multi-worker, threaded, graceful on SIGTERM)."""

from __future__ import annotations

import dataclasses
import logging
import os

import click
from gunicorn.app.base import BaseApplication

from .app import create_app
from .db import DatabaseUnavailable, UnsupportedDatabaseUrl
from .settings import Settings, SettingsError
from .store import Store


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict):
        self._app, self._options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app


def _announce(settings: Settings):
    def when_ready(arbiter):
        for listener in arbiter.LISTENERS:
            host, port = listener.getsockname()[:2]
            click.echo(f"smsbounce buffer listening on http://{host}:{port}")
        if settings.password_generated:
            click.echo(
                f"Generated password for user {settings.api_user!r} (shown once; set "
                f"SMSBOUNCE_API_PASSWORD to choose one): {settings.api_password}"
            )

    return when_ready


def run(settings: Settings) -> None:
    """Create the tables, then serve until SIGTERM / Ctrl-C."""
    store = Store.open(settings)
    try:
        store.create_tables()
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"cannot open the database: {exc}") from None
    # Workers are forked: each must open its own connections, none inherited from here.
    store.close()
    app = create_app(settings, store)
    _Gunicorn(
        app,
        {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": "gthread",
            "threads": settings.threads,
            "graceful_timeout": 30,
            "when_ready": _announce(settings),
            "loglevel": "warning",
        },
    ).run()


@click.command()
@click.option("--host", help="Interface to listen on (SMSBOUNCE_HOST, default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (PORT, default 8080; 0 = any).")
@click.option(
    "--database-url", help="sqlite:///file.db or postgresql://… (SMSBOUNCE_DATABASE_URL)."
)
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (SMSBOUNCE_WORKERS).")
def serve(host, port, database_url, workers):
    """Run the buffer: providers report to /api/v1/notifications/set, Marketing reads /get."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
