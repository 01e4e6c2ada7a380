"""``smsbounce verify``: exit 0 when every check passed, 1 on a contract violation, 2 when the
endpoint could not be checked (unreachable, TLS failure, bad arguments)."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import click

from smsbounce.simulators.di import choice
from smsbounce.simulators.di.choice import provider_or_file

from . import htmlreport, reports
from .runner import Options, run
from .wire import CouldNotRun

EXIT_PASSED, EXIT_VIOLATION, EXIT_COULD_NOT_RUN = 0, 1, 2


def _http_url(ctx, param, value):
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{value!r} is not an http(s) URL")
    return value


@click.command(short_help="Certify a live status endpoint against Marketing's contract.")
@click.option(
    "--status-url",
    required=True,
    callback=_http_url,
    help="Marketing's status endpoint: the buffer's /api/v1/notifications/get, or "
    "CPI's …/hybris_sms/status in front of it.",
)
@click.option("--user", help="Basic-auth user of the status endpoint.")
@click.option(
    "--password",
    envvar="SMSBOUNCE_VERIFY_PASSWORD",
    help="Its password (or SMSBOUNCE_VERIFY_PASSWORD).",
)
@click.option(
    "--ingest-url",
    callback=_http_url,
    help="The provider's callback URL (with its token); enables the round-trip checks, "
    "which send this run's own tagged reports.",
)
@click.option(
    "--provider",
    default="di",
    show_default=True,
    callback=provider_or_file,
    help="Format of the reports the round trip sends: "
    + choice.HELP
    + ". Point --ingest-url at that profile's endpoint (/api/v1/providers/NAME/report on our "
    "buffer).",
)
@click.option(
    "--twilio-auth-token",
    envvar="SMSBOUNCE_VERIFY_TWILIO_AUTH_TOKEN",
    help="With --provider twilio: sign the reports (X-Twilio-Signature) over the exact ingest "
    "URL called, for an endpoint that checks signatures (or SMSBOUNCE_VERIFY_TWILIO_AUTH_TOKEN).",
)
@click.option(
    "--settle-lag",
    type=click.FloatRange(0, 3600),
    default=30.0,
    show_default=True,
    help="Seconds the endpoint holds reports back (at least its settle lag).",
)
@click.option(
    "--volume",
    type=click.IntRange(1, 100_000),
    help="Bounces in the round trip's burst. Default: enough for the window around the run to "
    "hold 2.5 pages at the page size the endpoint shows (250 until it shows one).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=30.0,
    show_default=True,
    help="Seconds to wait for any one answer.",
)
@click.option(
    "--max-latency",
    type=click.FloatRange(0.01, 600),
    default=5.0,
    show_default=True,
    help="Slowest acceptable page, in seconds (the latency check).",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write JUnit XML here (one testcase per check).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write a self-contained HTML report here.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the verdicts as JSON here.",
)
def main(
    status_url,
    user,
    password,
    ingest_url,
    provider,
    twilio_auth_token,
    settle_lag,
    volume,
    timeout,
    max_latency,
    junit_path,
    html_path,
    json_path,
):
    """Certify a live status endpoint against SAP Marketing's bounce contract.

    Read-side checks work against any endpoint; with --ingest-url the round trip also sends
    reports tagged with a unique prefix (it never deletes or alters data it did not create).
    """
    if password is not None and user is None:
        raise click.UsageError("--password needs --user")
    ctx = click.get_current_context()
    given = ctx.get_parameter_source("twilio_auth_token") == click.core.ParameterSource.COMMANDLINE
    if given and provider != "twilio":
        raise click.UsageError("--twilio-auth-token needs --provider twilio")
    options = Options(
        status_url=status_url,
        user=user,
        password=password,
        ingest_url=ingest_url,
        provider=provider,
        twilio_auth_token=twilio_auth_token if provider == "twilio" else None,
        settle_lag=settle_lag,
        volume=volume,
        timeout=timeout,
        max_latency=max_latency,
    )

    def progress(message: str) -> None:
        click.echo(f"… {message}", err=True)

    try:
        result = run(options, progress)
    except CouldNotRun as exc:
        click.echo(f"verify could not run: {exc}", err=True)
        sys.exit(EXIT_COULD_NOT_RUN)
    click.echo(reports.table(result))
    try:
        if junit_path:
            reports.write_junit(result, junit_path)
        if html_path:
            htmlreport.write_html(result, html_path)
        if json_path:
            reports.write_json(result, json_path)
    except OSError as exc:
        click.echo(f"verify could not write a report: {exc}", err=True)
        sys.exit(EXIT_COULD_NOT_RUN)
    sys.exit(EXIT_PASSED if result.passed else EXIT_VIOLATION)


if __name__ == "__main__":
    main()
