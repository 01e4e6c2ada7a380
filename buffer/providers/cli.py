"""``smsbounce providers list | check FILE | try NAME SAMPLE``: inspect and test mappings."""

from __future__ import annotations

import dataclasses
import json
import os

import click

from ..reports import InvalidParameter, Report, to_status_item
from ..request_params import parse_pairs, parse_query, to_params
from ..settings import Settings, SettingsError
from . import GenericProfile, Incoming, ProfileError, Quarantined, Rejected, load_profiles


def _profiles(extra_files: tuple[str, ...]):
    try:
        # Unset, so one is generated: inspecting mappings needs no password, nor a strong one.
        settings = Settings.from_env({**os.environ, "SMSBOUNCE_API_PASSWORD": ""})
        settings = dataclasses.replace(
            settings, provider_files=settings.provider_files + tuple(extra_files)
        )
        return load_profiles(settings)
    except (SettingsError, ProfileError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
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


@providers.command()
@click.argument("path", type=click.Path(dir_okay=False))
def check(path):
    """Validate a profile file; exit 1 naming the key or line and the problem."""
    try:
        profile = GenericProfile.from_file(path)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"ok: profile {profile.name!r}, endpoint /api/v1/providers/{profile.name}/report")


@providers.command("try")
@click.argument("name")
@click.argument("sample")
@click.option("--file", "files", multiple=True, help="Also load this profile file.")
def try_sample(name, sample, files):
    """Show the record SAMPLE would become: a query string (or form body) or a JSON body."""
    profiles = _profiles(files)
    if name not in profiles:
        raise click.ClickException(f"no profile {name!r}; known: {', '.join(sorted(profiles))}")
    try:
        incoming = _sample(sample.strip(), profiles[name].free_text)
        parsed = profiles[name].parse(incoming)
    except (InvalidParameter, Rejected) as exc:
        raise click.ClickException(f"rejected: {exc}") from None
    for item in parsed:
        click.echo(_verdict(item))


def _sample(sample: str, free_text: frozenset[str]) -> Incoming:
    if sample[:1] in "{[":
        try:
            body = json.loads(sample)
        except ValueError as exc:
            raise InvalidParameter("", f"the sample is not valid JSON: {exc}") from None
        return Incoming(method="POST", url="", json=body)
    query = sample.split("?", 1)[1] if "?" in sample else sample
    pairs = tuple(parse_pairs(query.encode(), 64, "sample", free_text))
    return Incoming(
        method="GET",
        url="",
        query=parse_query(query, free_text),
        form=to_params(list(pairs)),
        raw_form=pairs,
    )


def _verdict(item: Report | Rejected | Quarantined) -> str:
    if isinstance(item, Rejected):
        return f"rejected (400): {item}"
    if isinstance(item, Quarantined):
        return (
            f"quarantined, answered as taken, not served ({item.outcome.value}, "
            f"messageId {item.message_id}): {item.reason}"
        )
    record = to_status_item(item)
    if not item.is_bounce:
        return f"acknowledged, not served ({item.outcome.value}): {json.dumps(record)}"
    return f"stored and served to Marketing: {json.dumps(record)}"
