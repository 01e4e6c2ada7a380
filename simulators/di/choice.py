"""The ``--provider`` / ``--profile`` option of ``di-sim``, ``demo`` and ``verify``: a built-in
report format's name or a provider profile file."""

from __future__ import annotations

import click

from smsbounce.plumbing.env import SettingsError

from .formats import BUILT_IN_PROFILES, FORMATS
from .settings import profile_from

HELP = (
    "a built-in provider ("
    + ", ".join(sorted(set(FORMATS) | set(BUILT_IN_PROFILES)))
    + ") or a provider profile file (.json); a profile without a format of its own is "
    "rendered from its file"
)


def provider_or_file(ctx, param, value):
    """A click callback: ``value`` checked, or a usage error naming the option."""
    if value is None:
        return None
    try:
        return profile_from(value, f"--{param.name.replace('_', '-')}")
    except SettingsError as exc:
        raise click.BadParameter(str(exc)) from None
