"""``smsbounce quarantine list`` and ``smsbounce replay``: the held bounces, and mapping kept raw
reports again (``replay``) — from the shell, against the buffer's database."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timezone

import click

from . import migrations
from .admin import DATABASE_URL_OPTION, database_work, open_store
from .logs import mask_numbers
from .providers import ProfileError, load_profiles, no_such_profile
from .replay import (
    CHANGED,
    HELD,
    RELEASED,
    STILL_ACKNOWLEDGED,
    STORED,
    apply,
    replay_quarantine,
    replay_stored,
)

DAY_US = 86_400 * 1_000_000


def _show(text: str, settings) -> str:
    return text if settings.log_phone_numbers else mask_numbers(text)


def _utc(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@click.group(short_help="List reports held because the mapping could not read them.")
def quarantine():
    """Reports held because the mapping could not read them: bounces with a field it could not
    read (no recipient, say; type Temporary or Permanent) and reports it could not map at all
    (no message id or state; type unmapped). Answered to the provider as taken, never served
    until `smsbounce replay` maps them. Acknowledged reports kept while
    SMSBOUNCE_KEEP_ALL_REPORTS_UNTIL lies ahead are listed too (type acknowledged)."""


@quarantine.command("list", short_help="Show held reports, newest first.")
@click.option("--provider", help="Only this provider's entries (a profile name).")
@click.option(
    "--limit", type=click.IntRange(1), default=100, show_default=True, help="Show at most N."
)
@click.option("--raw", is_flag=True, help="Also print each entry's raw request.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@DATABASE_URL_OPTION
def list_entries(provider, limit, raw, as_json, database_url):
    """Show held (and kept) reports, newest first. Phone numbers are masked unless
    SMSBOUNCE_LOG_PHONE_NUMBERS=true."""
    settings, store = open_store(database_url)
    with database_work(store):
        migrations.check(store.database)
        entries = store.quarantine.entries(provider=provider, limit=limit)
        total = store.quarantine.count()
        acknowledged = store.quarantine.count(acknowledged=True)
    if provider and not entries:
        _known(provider, _load_profiles(settings))
    described = [
        {
            "id": e.id,
            "received": _utc(e.received_at),
            "provider": e.provider,
            "messageId": e.message_id,
            "type": e.type,
            "parameter": e.parameter,
            "reason": _show(e.reason, settings),
            **({"rawRequest": _show(e.raw_request, settings)} if raw else {}),
        }
        for e in entries
    ]
    if as_json:
        document = {"held": total, "acknowledged": acknowledged, "entries": described}
        click.echo(json.dumps(document, indent=2))
        return
    for e in described:
        click.echo(
            f"#{e['id']}  {e['received']} UTC  {e['provider']}  {e['type']}  {e['messageId']}: "
            f"{e['reason']}"
        )
        if raw:
            click.echo(f"    {e['rawRequest']}")
    kept = total + acknowledged
    click.echo(
        f"{total} held"
        + (f", {acknowledged} acknowledged kept" if acknowledged else "")
        + (f" ({len(described)} shown)" if len(described) < kept else "")
        + ("; `smsbounce replay` maps them again" if kept else "")
    )


@click.command(short_help="Map kept raw reports again through the current profiles.")
@click.option("--provider", help="Only this provider's reports (a profile name).")
@click.option(
    "--profile",
    "profile_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Map with this profile file (it replaces the profile of its name for this run).",
)
@click.option("--stored", is_flag=True, help="Also map the stored bounces' raw reports again.")
@click.option(
    "--since",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="With --stored: only bounces received in the last DAYS days.",
)
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@DATABASE_URL_OPTION
def replay(provider, profile_files, stored, since, dry_run, database_url):
    """Map kept raw reports again through the current (or a given) profile: quarantined reports
    (and acknowledged ones kept while all reports are kept) that now map to a bounce are stored
    and released; with --stored, stored bounces whose served fields change are rewritten, so
    Marketing's next poll gets the correction."""
    settings, store = open_store(database_url)
    settings = dataclasses.replace(
        settings, provider_files=settings.provider_files + tuple(profile_files)
    )
    try:
        profiles = _load_profiles(settings)
    except click.ClickException:
        store.close()
        raise
    with database_work(store):
        migrations.check(store.database)
        entries = store.quarantine.entries(provider=provider)
        done = replay_quarantine(entries, profiles)
        raw_of = {("q", e.id): e.raw_request for e in entries}
        if stored:
            since_us = 0 if since is None else time.time_ns() // 1000 - int(since * DAY_US)
            rows = store.stored(provider=provider, since_us=since_us)
            done += replay_stored(rows, profiles)
            raw_of.update({("s", r.message_id): r.raw_report for r in rows})
        if provider and not done:
            _known(provider, profiles)
        if not dry_run:
            apply(store, done, raw_of)
    for item in done:
        label = f"{item.source} {item.provider} {item.message_id}"
        click.echo(
            _show(
                f"{label}: {item.verdict}" + (f": {item.detail}" if item.detail else ""), settings
            )
        )
    click.echo(_summary(done, stored, dry_run))


def _load_profiles(settings):
    try:
        return load_profiles(settings)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None


def _known(provider: str, profiles) -> None:
    """Refuse a name that is no profile's, as `providers try` does: a typo must not pass for
    "nothing held". A name that still matched entries (its profile removed since) is fine."""
    if provider not in profiles:
        raise click.ClickException(no_such_profile(provider, profiles))


def _summary(done, stored: bool, dry_run: bool) -> str:
    held = [d for d in done if d.source.startswith("quarantine")]
    acknowledged = [d for d in done if d.source.startswith("kept")]
    rows = [d for d in done if d.source == "stored"]

    def n(items, verdict, done_to=None):
        count = sum(1 for d in items if d.verdict == verdict)
        if done_to is None:
            return str(count)
        verb = "would be" if dry_run else "was" if count == 1 else "were"
        return f"{count} {verb} {done_to}"

    parts = [
        f"{len(held)} quarantined: {n(held, STORED, 'stored')}, "
        f"{n(held, RELEASED, 'released as no bounce')}, {n(held, HELD)} still held"
    ]
    if acknowledged:
        parts.append(
            f"{len(acknowledged)} acknowledged kept: {n(acknowledged, STORED, 'stored')}, "
            f"{n(acknowledged, STILL_ACKNOWLEDGED)} still acknowledged"
        )
    if stored:
        parts.append(f"{len(rows)} stored: {n(rows, CHANGED, 'rewritten')}")
    return "; ".join(parts) + ("; dry run: nothing written" if dry_run else "")
