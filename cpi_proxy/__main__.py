"""``smsbounce cpi-proxy``: the emulated CPI tenant on gunicorn (threaded, graceful on SIGTERM)."""

from __future__ import annotations

import logging
import os

import click

from smsbounce.plumbing.gunicorn_server import GunicornServer
from smsbounce.plumbing.serving import CannotListen

from .app import create_app
from .settings import Settings, SettingsError

# Command-line options override these variables; Settings.from_env stays the one reader.
_OPTION_VARIABLES = {
    "buffer_url": "SMSBOUNCE_CPI_BUFFER_URL",
    "provider_url": "SMSBOUNCE_CPI_PROVIDER_URL",
    "host": "SMSBOUNCE_CPI_HOST",
    "port": "SMSBOUNCE_CPI_PORT",
}


def _announce(settings: Settings):
    def on_listening(url: str) -> None:
        click.echo(f"smsbounce cpi-proxy listening on {url}")
        click.echo(f"  status: {url}{settings.status_path} -> {settings.buffer_status_url}")
        click.echo(f"  send:   {url}{settings.send_path} -> {settings.provider_url}")
        if settings.password_generated:
            user = settings.users[0]
            click.echo(
                f"Generated password for user {user.name!r} (shown once; set "
                f"SMSBOUNCE_CPI_PASSWORD to choose one): {user.password}"
            )

    return on_listening


def run(settings: Settings) -> None:
    """Serve until SIGTERM / Ctrl-C (gunicorn lets running requests finish)."""
    try:
        server = GunicornServer(
            create_app(settings),
            settings.host,
            settings.port,
            workers=settings.workers,
            threads=settings.threads,
            # A package of 1,000 messages may take a while towards the provider.
            timeout=300,
            graceful_timeout=30,
        )
    except CannotListen as exc:
        raise click.ClickException(str(exc)) from None
    server.run(on_listening=_announce(settings))


@click.command(name="cpi-proxy")
@click.option("--buffer-url", help="The buffer's base URL (SMSBOUNCE_CPI_BUFFER_URL).")
@click.option(
    "--provider-url",
    help="DI's send URL, e.g. http://host:8090/cmn/acc/acc.sms (SMSBOUNCE_CPI_PROVIDER_URL).",
)
@click.option("--host", help="Interface to listen on (SMSBOUNCE_CPI_HOST, default 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port (SMSBOUNCE_CPI_PORT, default 8081; 0 = any).",
)
def main(buffer_url, provider_url, host, port):
    """Emulate the SAP Cloud Integration iFlows: Marketing's status pull to the buffer and its
    SMS sends to SAP Digital Interconnect (see docs/cpi-proxy.md)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = {"buffer_url": buffer_url, "provider_url": provider_url, "host": host, "port": port}
    environ = dict(os.environ)
    environ.update({_OPTION_VARIABLES[k]: str(v) for k, v in options.items() if v is not None})
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    run(settings)


if __name__ == "__main__":
    main()
