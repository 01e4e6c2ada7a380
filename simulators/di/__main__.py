"""``smsbounce di-sim``: a SAP Digital Interconnect look-alike with scripted outcomes and faults."""

from __future__ import annotations

import dataclasses
import os

import click

from . import choice
from .app import create_app
from .settings import Settings, SettingsError, profile_from, scenario_from


def _at_most(high: int, shown: str):
    """The variable's upper bound, without click printing a 19-digit range in --help."""

    def check(ctx, param, value):
        if value is not None and value > high:
            raise click.BadParameter(f"{value} is more than {shown}.")
        return value

    return check


@click.command(short_help="Simulate SAP Digital Interconnect: send API, reports, faults.")
@click.option("--host", help="Interface to listen on (SMSBOUNCE_DI_HOST, default 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (SMSBOUNCE_DI_PORT, default 8090; 0 = any)."
)
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False),
    help="Scenario JSON file (SMSBOUNCE_DI_SCENARIO; default: the packaged default.json).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    callback=_at_most(2**63, "2**63"),
    help="Random seed, at most 2**63 (SMSBOUNCE_DI_SEED, default 0).",
)
@click.option(
    "--first-order-id",
    type=click.IntRange(min=1),
    callback=_at_most(10**18, "10**18"),
    help="First ORDERID, at most 10**18 (SMSBOUNCE_DI_FIRST_ORDER_ID; default: the millisecond "
    "clock).",
)
@click.option(
    "--profile",
    help="Callback format of the delivery reports (SMSBOUNCE_DI_PROFILE, default di): "
    + choice.HELP
    + ".",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 100),
    help="infobip: up to N reports per request (SMSBOUNCE_DI_BATCH, default 1).",
)
def main(host, port, scenario, seed, first_order_id, profile, batch):
    """Simulate SAP Digital Interconnect: POST /cmn/<account>/<account>.sms, reports to each
    AckReplyAddress, ground truth under /_sim/. Stops on Ctrl-C or SIGTERM."""
    # Imported here so `smsbounce --help` does not load the server.
    from smsbounce.plumbing.local_server import LocalServer

    try:
        settings = Settings.from_env(os.environ)
        overrides = {
            "host": host,
            "port": port,
            "seed": seed,
            "first_order_id": first_order_id,
            "batch": batch,
        }
        if profile is not None:
            overrides["profile"] = profile_from(profile, "--profile")
        if scenario is not None:
            overrides["scenario"] = scenario_from(scenario, "--scenario")
        settings = dataclasses.replace(
            settings, **{k: v for k, v in overrides.items() if v is not None}
        )
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None

    app = create_app(settings)
    try:
        server = LocalServer(app, settings.host, settings.port)
    except OSError as exc:
        app.simulator.close()
        raise click.ClickException(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        ) from None
    credentials = "credentials required" if settings.user else "any credentials"

    def announce(url: str) -> None:
        click.echo(f"smsbounce di-sim listening on {url} (seed {settings.seed})")
        click.echo(f"  send:    POST {url}/cmn/<account>/<account>.sms ({credentials})")
        click.echo(f"  reports: {settings.profile} format to each AckReplyAddress")
        click.echo(
            f"  control: GET {url}/_sim/summary, /_sim/messages, /_sim/reports, /_sim/profile"
        )

    try:
        server.run(announce)
    finally:
        app.simulator.close()
        click.echo("smsbounce di-sim stopped")


if __name__ == "__main__":
    main()
