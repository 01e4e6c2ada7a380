"""``smsbounce providers list | check FILE | try NAME SAMPLE | test PROFILE FILES | capture |
codes``: inspect and test mappings, pin a provider's real callbacks, see the mapping at work."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import click

from .. import codes as codes_module
from .. import migrations
from ..admin import DATABASE_URL_OPTION, database_work, open_store
from ..intake import Intake
from ..raw_requests import FORM, JSON, RawRequest, UnreadableRecord, request_from
from ..reports import Result, to_status_item
from ..settings import Settings, SettingsError
from ..verdicts import Verdict
from . import GenericProfile, Profile, ProfileError, load_profiles, no_such_profile, samples


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
            f"quarantined, answered as taken, not served ({item.type}, "
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


class _CannotRun(click.ClickException):
    exit_code = 2  # as `smsbounce verify`: 1 is a contract violation, 2 could not run


@providers.command("test", short_help="Check captured samples against what they must become.")
@click.argument("profile")
@click.argument("sample_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--junit", type=click.Path(dir_okay=False), help="Also write a JUnit XML report.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write JSON.")
def test_samples(profile, sample_files, junit, json_path):
    """Pass every sample in SAMPLE_FILES through the same door a live request takes, mapped by
    PROFILE (a profile name, or a profile file), and check it becomes what the sample says.
    Exit 0: every sample passed; 1: one did not; 2: a file or the profile cannot be read.
    The sample format: docs/providers.md, "Pin your provider's callbacks"."""
    chosen = _profile_named_or_file(profile)
    try:
        found = [s for path in sample_files for s in samples.read_samples(Path(path))]
    except samples.SampleError as exc:
        raise _CannotRun(str(exc)) from None
    door = Intake(check_signatures=False)
    outcomes = []
    for sample in found:
        taken = door.take(chosen, sample.request)
        unmet = samples.problems(sample.checks, taken.verdicts)
        outcomes.append((sample, taken, unmet))
        what = "; ".join(samples.describe(v) for v in taken.verdicts)
        click.echo(f"{'FAIL' if unmet else 'PASS'}  {sample.name}  {what}")
        for problem in unmet:
            click.echo(f"      {problem}")
    failed = sum(1 for _, _, unmet in outcomes if unmet)
    click.echo(f"{len(outcomes)} samples: {len(outcomes) - failed} passed, {failed} failed")
    if junit:
        Path(junit).write_text(samples.junit(chosen.name, outcomes), encoding="utf-8")
    if json_path:
        document = [
            {
                "sample": sample.name,
                "passed": not unmet,
                "problems": unmet,
                "verdicts": [v.as_json() for v in taken.verdicts],
            }
            for sample, taken, unmet in outcomes
        ]
        Path(json_path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if failed:
        raise SystemExit(1)


def _profile_named_or_file(profile: str) -> Profile:
    if profile.endswith(".json") and Path(profile).is_file():
        try:
            name = GenericProfile.from_file(profile).name
        except ProfileError as exc:
            raise _CannotRun(str(exc)) from None
        return _profiles((profile,))[name]
    profiles = _profiles(())
    if profile not in profiles:
        raise _CannotRun(no_such_profile(profile, profiles) + " (or give a profile file)")
    return profiles[profile]


@providers.command(short_help="Write the buffer's kept raw reports as sample files.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write the sample files to (created if missing).",
)
@click.option("--provider", help="Only this provider's reports (a profile name).")
@click.option(
    "--since",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="Only reports received in the last DAYS days (default: all kept).",
)
@DATABASE_URL_OPTION
def capture(out, provider, since, database_url):
    """Turn the raw requests the buffer kept (of stored and quarantined bounces) into sample
    files for `smsbounce providers test`, each expecting what it becomes now: capture a week of
    real traffic, review the expectations, commit them. The samples hold the reports as they
    came, phone numbers included: keep them where such data may be kept."""
    profiles = _profiles(())
    if provider and provider not in profiles:
        raise click.ClickException(no_such_profile(provider, profiles))
    since_us = 0 if since is None else time.time_ns() // 1000 - int(since * 86_400_000_000)
    _, store = open_store(database_url)
    with database_work(store):
        migrations.check(store.database)
        kept = [
            (row.provider, row.message_id, row.raw_report, "a stored bounce")
            for row in store.stored(provider=provider, since_us=since_us)
        ] + [
            (e.provider, e.message_id or f"entry-{e.id}", e.raw_request, f"kept ({e.type})")
            for e in store.quarantine.entries(provider=provider)
            if e.received_at >= since_us
        ]
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    door, written = Intake(check_signatures=False), 0
    for name, message_id, raw, what in kept:
        if name not in profiles:
            continue
        try:
            request = request_from(raw, profiles[name])
        except UnreadableRecord:
            continue  # a record from before raw requests were kept whole
        verdicts = door.take(profiles[name], request).verdicts
        text = samples.write_sample(verdicts, request, f"captured by the buffer: {what}")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in message_id)
        (folder / f"{name}-{safe}.sample").write_text(text, encoding="utf-8")
        written += 1
    click.echo(f"{written} of {len(kept)} kept reports written to {folder}")
