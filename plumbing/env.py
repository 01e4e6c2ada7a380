"""Typed reads of environment variables for every service's ``Settings.from_env``.

Each read either returns a usable value or raises ``SettingsError`` with a sentence naming the
variable, so a bad configuration stops the start instead of surfacing later as a 500.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable and the problem."""


class Env:
    """One service's view of the environment; subclass it for a service's own kinds of value."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def raw(self, name: str) -> str | None:
        """The value as set, not stripped; None when unset (set-but-empty can mean something)."""
        return self._environ.get(name)

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def required(self, name: str, why: str) -> str:
        value = self.text(name)
        if value is None:
            raise SettingsError(f"{name} is not set: {why}.")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = (self.text(name) or str(default)).lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, not {value!r}.")

    def integer(self, name: str, default, *, low: int, high: int):
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None
        return in_range(name, value, low, high)

    def number(
        self, name: str, default: float, *, low: float, high: float, unit: str = "seconds"
    ) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number of {unit}, not {raw!r}.") from None
        return in_range(name, value, low, high)

    def optional_number(self, name: str, *, low: float, high: float, unit: str) -> float | None:
        if self.text(name) is None:
            return None
        return self.number(name, 0.0, low=low, high=high, unit=unit)

    def choice(self, name: str, allowed, default: str) -> str:
        value = (self.text(name) or default).lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
        return value

    def timezone(self, name: str, default: str = "UTC") -> str:
        value = self.text(name) or default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"{name} must be an IANA time zone such as UTC or Europe/Berlin, not {value!r}."
            ) from None
        return value

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list, blanks dropped."""
        return tuple(p.strip() for p in (self.text(name) or "").split(",") if p.strip())

    def url(self, name: str, *, required: bool = False) -> str | None:
        """An http(s) URL with a host, no credentials, no fragment, no control characters."""
        value = self.text(name)
        if value is None:
            if required:
                raise SettingsError(f"{name} is not set: give the target's http(s) URL.")
            return None
        problem = url_problem(value)
        if problem:
            raise SettingsError(f"{name} {problem}, not {value!r}.")
        return value

    def both_or_neither(self, first: str, second: str, why: str) -> tuple[str | None, str | None]:
        """Two variables that only make sense together (a user and its password)."""
        a, b = self.text(first), self.text(second)
        if (a is None) != (b is None):
            missing = first if a is None else second
            raise SettingsError(f"{missing} is not set: set both {first} and {second} {why}.")
        return a, b


def url_problem(value: str) -> str | None:
    """Why ``value`` is not a usable http(s) URL, or None."""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.fragment
        or parts.username is not None
        or _CONTROL.search(value)
    ):
        return "must be an http(s) URL with a host, without credentials or #fragment"
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "has an invalid port"
    return None


def in_range(name: str, value, low, high):
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}.")
    return value
