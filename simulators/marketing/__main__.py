"""``smsbounce marketing send|poll``: SAP Marketing Cloud's SMS adapter, simulated."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import click
import requests

from smsbounce.contracts.wire import format_utc

from .client import DEFAULT_SENDER, load_messages, make_messages, send_messages
from .poller import Poller, WindowResult
from .reconcile import reconcile
from .report import counted, table, verdict
from .windows import parse_since


def _credentials(function):
    function = click.option(
        "--password",
        required=True,
        envvar="SMSBOUNCE_MARKETING_PASSWORD",
        help="Password of the communication user (or SMSBOUNCE_MARKETING_PASSWORD).",
    )(function)
    return click.option(
        "--user", required=True, help="Communication user Marketing logs in to CPI with."
    )(function)


@click.group(
    name="marketing", short_help="Simulate SAP Marketing's SMS adapter: send, pull bounces."
)
def main():
    """Simulate SAP Marketing Cloud's SMS adapter: send through CPI, pull bounces from CPI."""


@main.command(short_help="Send messages through CPI in packages of at most 1,000.")
@click.option(
    "--send-url", required=True, help="CPI send route, e.g. http://…/http/hybris_sms/sms."
)
@_credentials
@click.option("--messages", "count", type=click.IntRange(1, 1_000_000), help="Generate N messages.")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON array of messages (package shape) or one E.164 number per line.",
)
@click.option("--sender", default=DEFAULT_SENDER, show_default=True, help="Sender id.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of generated numbers.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the id mapping as JSON here instead of printing it.",
)
def send(send_url, user, password, count, path, sender, seed, output):
    """Send messages in packages of at most 1,000; print Marketing id -> provider id.

    Exit status 1 when a package got no usable answer.
    """
    if (count is None) == (path is None):
        raise click.UsageError("give exactly one of --messages N and --file F")
    run = "mc" + format_utc(datetime.now(timezone.utc))
    if path is not None:
        try:
            messages = load_messages(path, run=run, sender=sender)
        except (ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"cannot use {path}: {exc}") from None
    else:
        messages = make_messages(count, run=run, seed=seed, sender=sender)
    outcome = send_messages(send_url, (user, password), messages)
    rows = outcome.mapping()
    if output:
        with open(output, "w", encoding="utf-8") as file:
            json.dump(rows, file, indent=1)
    else:
        for row in rows:
            if "providerMessageId" in row:
                click.echo(f"{row['messageId']}\t{row['providerMessageId']}")
            elif "errorCode" in row:
                click.echo(f"{row['messageId']}\trejected {row['errorCode']}: {row['errorText']}")
            else:
                click.echo(f"{row['messageId']}\tfailed: {row['failure']}")
    click.echo(
        f"sent {counted(len(messages), 'message')}: {len(outcome.accepted)} accepted, "
        f"{len(outcome.rejected)} rejected, {len(outcome.failed_ids)} in failed packages",
        err=True,
    )
    for _, why in outcome.failed:
        click.echo(f"package failed: {why}", err=True)
    if outcome.failed:
        raise SystemExit(1)


@main.command(short_help="Pull bounces window by window as Marketing does.")
@click.option("--status-url", required=True, help="CPI status route, e.g. http://…/status.")
@_credentials
@click.option(
    "--since",
    default="now",
    show_default=True,
    help="Start of the first window: now, UTC YYYYMMDDhhmmss, or an age like 15m, 2h, 1d.",
)
@click.option(
    "--every",
    type=click.FloatRange(0.1, 86400),
    default=10.0,
    show_default=True,
    help="Seconds between polls (Marketing: about 600).",
)
@click.option(
    "--until-quiet",
    type=click.FloatRange(0, 86400),
    help="Stop once no bounce has come for this many seconds (default: poll until Ctrl-C).",
)
@click.option(
    "--source-system",
    default="SMSBOUNCE_SIM",
    show_default=True,
    help="The sourceSystem parameter of every poll: the Marketing system asking.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Append every interaction to this file as a JSON line.",
)
@click.option(
    "--di-sim",
    help="Reconcile at the end against this DI simulator's ground truth (its base URL).",
)
def poll(status_url, user, password, since, every, until_quiet, source_system, output, di_sim):
    """Pull bounces window by window as Marketing does and book them as interactions.

    Every answer is checked against the status-response contract and the paging invariants;
    violations are printed and make the exit status 1.
    """
    now = datetime.now(timezone.utc)
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    poller = Poller(status_url, (user, password), start, source_system=source_system)
    click.echo(f"polling {status_url} from {format_utc(start)} every {every:g} s", err=True)
    stop = threading.Event()
    last_news = time.monotonic()
    sink = open(output, "a", encoding="utf-8") if output else None  # noqa: SIM115 - closed below
    try:
        while True:
            result = poller.tick()
            if result is not None:
                _show(result, sink)
                if result.interactions:
                    last_news = time.monotonic()
                quiet = time.monotonic() - last_news
                if until_quiet is not None and result.failure is None and quiet >= until_quiet:
                    break
            # The interval is the simulated Marketing's schedule, not a synchronisation.
            stop.wait(every)
    except KeyboardInterrupt:
        pass
    finally:
        if sink is not None:
            sink.close()
    hard = sum(i.bounce == "hard" for i in poller.interactions)
    click.echo(
        f"{counted(poller.windows, 'window')}, "
        f"{counted(len(poller.interactions), 'interaction')} ({hard} hard, "
        f"{len(poller.interactions) - hard} soft), {counted(len(poller.violations), 'violation')}, "
        f"{counted(len(poller.failures), 'failed poll')}",
        err=True,
    )
    failed = bool(poller.violations)
    if di_sim:
        failed |= not _reconcile(di_sim.rstrip("/"), poller)
    if failed:
        raise SystemExit(1)


def _show(result: WindowResult, sink) -> None:
    if result.failure is not None:
        click.echo(f"poll failed, window {result.label} will be asked again: {result.failure}")
        return
    for interaction in result.interactions:
        click.echo(
            f"{result.label}  {interaction.bounce:<4}  {interaction.message_id}  "
            f"{interaction.recipient}  {interaction.status_code}  {interaction.reason}"
        )
        if sink is not None:
            sink.write(json.dumps(interaction.as_dict(), ensure_ascii=False) + "\n")
    for violation in result.violations:
        click.echo(f"VIOLATION {violation}", err=True)


def _reconcile(base_url: str, poller: Poller) -> bool:
    try:
        response = requests.get(base_url + "/_sim/messages", timeout=30)
        response.raise_for_status()
        truth = response.json()["messages"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot read {base_url}/_sim/messages: {exc}") from None
    result = reconcile(truth, poller.interactions)
    click.echo(table(result))
    for problem in result.problems():
        click.echo(f"  {problem}", err=True)
    click.echo(verdict(result))
    return result.ok


if __name__ == "__main__":
    main()
