"""``smsbounce demo``: the whole flow on one machine, with a verdict.

Marketing (simulated) → CPI proxy → DI simulator → buffer → CPI proxy → Marketing, all started
here on free ports; the DI simulator's default scenario mixes outcomes and turns faults on.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from contextlib import contextmanager

import click

from smsbounce.buffer.db import DatabaseUnavailable, UnsupportedDatabaseUrl
from smsbounce.simulators.di import choice
from smsbounce.simulators.di.choice import provider_or_file
from smsbounce.simulators.di.scenario import ScenarioError

from . import flow, services
from .marketing.report import counted, table, verdict

MAX_PROBLEMS = 20  # lines of detail; the table has the totals


@click.command(name="demo", short_help="Run the whole flow on this machine and reconcile it.")
@click.option(
    "--messages",
    "count",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Messages Marketing sends through CPI.",
)
@click.option(
    "--database-url",
    help="The buffer's database, e.g. postgresql://…/db (default: a temporary SQLite file).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the recipients and of the provider's outcomes and faults: the same seed plans "
    "the same run.",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False),
    help="DI simulator scenario file (default: the packaged default, faults on).",
)
@click.option(
    "--provider",
    default="di",
    show_default=True,
    callback=provider_or_file,
    help="The callback format the simulated provider reports in, and the buffer's profile: "
    + choice.HELP
    + ".",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 3600),
    default=300.0,
    show_default=True,
    help="Seconds the whole run may take; a provider still busy then fails the demo.",
)
@click.option("--keep-running", is_flag=True, help="Leave the three services up; Ctrl-C stops.")
def main(count, database_url, seed, scenario, provider, timeout, keep_running):
    """Run the whole flow with --messages messages and reconcile: exit status 0 only when
    nothing the buffer acknowledged was lost or served twice."""
    with _service_warnings():
        _demo(count, database_url, seed, scenario, provider, timeout, keep_running)


def _demo(count, database_url, seed, scenario, provider, timeout, keep_running):
    try:
        running = services.start(database_url, seed=seed, scenario=scenario, provider=provider)
    except (UnsupportedDatabaseUrl, DatabaseUnavailable, ScenarioError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        where = database_url or running.database_url.removeprefix("sqlite:///")
        click.echo(f"smsbounce demo: {counted(count, 'message')}, seed {seed}, provider {provider}")
        click.echo(
            f"  buffer     {running.buffer.url}  ({where}; settle lag "
            f"{services.SETTLE_LAG:g} s, db timeout {services.DB_TIMEOUT:g} s)"
        )
        click.echo(f"  CPI proxy  {running.proxy.url}")
        click.echo(f"  DI sim     {running.di_sim.url}")
        result = flow.run(running, count, seed=seed, timeout=timeout, progress=click.echo)
        _report(result)
        if keep_running:
            _wait_for_stop(running)
    finally:
        running.stop()
    if not result.ok:
        raise SystemExit(1)


@contextmanager
def _service_warnings():
    """Show the services' warnings (e.g. the buffer's 503 when SQLite stays locked longer than
    its timeout) as one marked line each, between the progress lines; only during the demo."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(name)s: %(levelname)s %(message)s"))
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("smsbounce")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _report(result: flow.FlowResult) -> None:
    click.echo(f"\ndone in {result.seconds:.1f} s; {counted(result.poller.windows, 'poll window')}")
    click.echo(table(result.reconciliation))
    details = [f"{p}" for p in result.reconciliation.problems()]
    details += [f"contract: {v}" for v in result.poller.violations]
    details += [f"send: {why}" for _, why in result.sent.failed]
    if result.timed_out:
        details.append("the provider did not settle before --timeout")
    for line in details[:MAX_PROBLEMS]:
        click.echo(f"  ! {line}")
    if len(details) > MAX_PROBLEMS:
        click.echo(f"  ! … and {len(details) - MAX_PROBLEMS} more")
    click.echo(verdict(result.reconciliation) if not details else _failed(result))


def _failed(result: flow.FlowResult) -> str:
    if result.reconciliation.ok:
        return "FAILED: see the lines marked ! above"
    return verdict(result.reconciliation)


def _wait_for_stop(running: services.Services) -> None:
    user, password = running.marketing_auth
    buffer_user, buffer_password = running.buffer_auth
    click.echo("\nservices keep running (Ctrl-C to stop):")
    click.echo(f"  Marketing → CPI send:   POST {running.send_url}  ({user} / {password})")
    click.echo(f"  Marketing → CPI status: GET  {running.status_url}  ({user} / {password})")
    click.echo(
        f"  buffer:                 {running.buffer.url}/api/v1/notifications/get  "
        f"({buffer_user} / {buffer_password})"
    )
    click.echo(f"  DI simulator:           {running.di_sim.url}/_sim/summary")
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
