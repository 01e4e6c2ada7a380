"""``smsbounce providers list | check FILE | try NAME SAMPLE | codes``: inspect and test
mappings, and see them at work."""

from __future__ import annotations

import dataclasses
import json
import os
import time

import click

from .. import codes as codes_module
from .. import migrations
from ..admin import DATABASE_URL_OPTION, database_work, open_store
from ..intake import Intake
from ..raw_requests import FORM, JSON, RawRequest
from ..reports import Result, to_status_item
from ..settings import Settings, SettingsError
from ..verdicts import Verdict
from . import GenericProfile, Profile, ProfileError, load_profiles, no_such_profile


def _profiles(extra_files: tuple[str, ...]):
    try:
        # Unset, so one is generated: inspecting mappings needs no password, nor a strong one.
        settings = Settings.from_env({**os.environ, "SMSBOUNCE_API_PASSWORD": ""})
        settings = dataclasses.replace(
            settings, provider_files=settings.provider_files + tuple(extra_files)
        )
        # A file given here is inspected, not served: its signature's key need not be set.
        return load_profiles(settings, require_keys=False)
    except (SettingsError, ProfileError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group(short_help="Show, check and try the provider profiles.")
def providers():
    """Provider profiles: which callback formats the buffer understands, and how they map."""


@providers.command("list")
@click.option("--file", "files", multiple=True, help="Also load this profile file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def list_profiles(files, as_json):
    """Show every profile with its endpoint and its state/code table."""
    described = [p.describe() for p in _profiles(files).values()]
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for profile in described:
        click.echo(f"{profile['name']}: {profile['description']}")
        methods = ", ".join(profile["methods"])
        click.echo(f"  endpoint: {methods} /api/v1/providers/{profile['name']}/report")
        for group in ("states", "details", "codes"):
            for kind, values in profile.get(group, {}).items():
                if values:
                    click.echo(f"  {group[:-1]} {kind}: {', '.join(values)}")
        click.echo(f"  otherwise: {profile.get('default', 'Permanent')}")
        if "signature" in profile:
            click.echo(f"  signature: {profile['signature']}")


@providers.command(short_help="Validate a profile file, naming what is wrong.")
@click.argument("path", type=click.Path(dir_okay=False))
def check(path):
    """Validate a profile file; exit 1 naming the key or line and the problem."""
    try:
        profile = GenericProfile.from_file(path)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"ok: profile {profile.name!r}, endpoint /api/v1/providers/{profile.name}/report")


@providers.command("try", short_help="Show what a sample report would become.")
@click.argument("name")
@click.argument("sample")
@click.option("--file", "files", multiple=True, help="Also load this profile file.")
@click.option(
    "--method",
    type=click.Choice(["GET", "POST"]),
    help="GET sends pairs in the query string, POST in a form body (default: POST when the "
    "profile takes POST, else GET). A JSON sample is always a POST body.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each report's verdict as JSON.")
def try_sample(name, sample, files, method, as_json):
    """Show what SAMPLE would become on the live server: a query string or form body (pairs,
    or a URL with them after ?) or a JSON body. It passes the same door as a live request;
    signatures are not checked and nothing is stored."""
    profiles = _profiles(files)
    if name not in profiles:
        raise click.ClickException(no_such_profile(name, profiles))
    profile = profiles[name]
    taken = Intake(check_signatures=False).take(profile, _sample(sample.strip(), profile, method))
    if as_json:
        click.echo(json.dumps([v.as_json() for v in taken.verdicts], indent=2, ensure_ascii=False))
        return
    for verdict in taken.verdicts:
        click.echo(_shown(verdict))


def _sample(sample: str, profile: Profile, method: str | None) -> RawRequest:
    if sample[:1] in "{[":
        return RawRequest(method="POST", content_type=JSON, body=sample.encode())
    if "?" in sample:
        return RawRequest(method="GET", query_string=_wsgi(sample.split("?", 1)[1]))
    method = method or ("POST" if "POST" in profile.methods else "GET")
    if method == "POST":
        return RawRequest(method="POST", content_type=FORM, body=sample.encode())
    return RawRequest(method="GET", query_string=_wsgi(sample))


def _wsgi(query: str) -> str:
    """A query string as a WSGI server hands it on: its bytes read as latin-1."""
    return query.encode().decode("latin-1")


def _shown(verdict: Verdict) -> str:
    item = verdict.report
    if verdict.result is Result.REJECTED:
        return f"rejected ({verdict.error.status}): {verdict.error}"
    if verdict.result is Result.QUARANTINED:
        return (
            f"quarantined, answered as taken, not served ({item.outcome.value}, "
            f"messageId {item.message_id}): {item.reason}"
        )
    record = json.dumps(to_status_item(item))
    if verdict.result is Result.ACKNOWLEDGED:
        return f"acknowledged, not served ({item.outcome.value}): {record}"
    return f"stored and served to Marketing: {record}"


@providers.command(
    short_help="Show which states and codes each provider sent, and what became of them."
)
@click.option(
    "--since",
    default="24h",
    show_default=True,
    metavar="AGE",
    help="How far back: a number of hours (24h) or days (7d), up to 35d (kept that long).",
)
@click.option("--provider", help="Only this provider's codes (a profile name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@DATABASE_URL_OPTION
def codes(since, provider, as_json, database_url):
    """Which of each provider's states and codes were soft bounces, hard bounces, acknowledged
    or quarantined, how often, and by which rule of its profile. A code on `default` is one the
    profile does not list: add it, then `smsbounce replay --stored`."""
    hours = _hours(since)
    settings, store = open_store(database_url)
    with database_work(store):
        migrations.check(store.database)
        if provider:
            profiles = _profiles(())
            if provider not in profiles:
                raise click.ClickException(no_such_profile(provider, profiles))
        seen = store.codes.seen(int(time.time() // 3600) - hours + 1, provider)
    if as_json:
        click.echo(json.dumps([c.as_json() for c in seen], indent=2, ensure_ascii=False))
        return
    if not seen:
        click.echo(f"no report classified in the last {since}")
        return
    header = ("provider", "state", "code", "reports", "classified", "rule")
    rows = [(c.provider, c.state, c.code, str(c.count), c.classified, c.rule) for c in seen]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        line = "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        flag = "  <- not in the profile" if row[-1] == "default" else ""
        click.echo(line.rstrip() + flag)


def _hours(since: str) -> int:
    """``24h`` / ``7d`` → hours; a click error naming the option otherwise."""
    number, unit = since[:-1], since[-1:]
    if not number.isdigit() or unit not in ("h", "d") or int(number) == 0:
        raise click.BadParameter(
            "give a number of hours or days, e.g. 24h or 7d", param_hint="--since"
        )
    hours = int(number) * (24 if unit == "d" else 1)
    if hours > codes_module.KEPT_HOURS:
        raise click.BadParameter(
            f"counts are kept {codes_module.KEPT_HOURS // 24} days", param_hint="--since"
        )
    return hours
