"""The DI simulator's configuration: one frozen object, read from the environment once at start.

``Settings.from_env()`` is the only place that reads ``os.environ``; tests build ``Settings(...)``
directly. A bad value stops the start with a sentence naming the variable (``SettingsError``).
The command-line options of ``smsbounce di-sim`` override the variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from smsbounce.plumbing.env import Env, SettingsError

from .formats import BUILT_IN_PROFILES, FORMATS, ProfileFormatError, make_format
from .scenario import Scenario, ScenarioError, load_scenario


@dataclass(frozen=True)
class Settings:
    # Both None: any credentials are accepted (DI still requires *some* basic auth header).
    user: str | None = None
    password: str | None = None
    scenario: Scenario = field(default_factory=load_scenario)
    seed: int = 0
    # None: order ids start at the millisecond clock, so a restarted simulator does not reuse the
    # ids a long-lived buffer already holds. Set it for reproducible ids.
    first_order_id: int | None = None
    # DI's report date/time zone is not published (docs/spec.md §2.3, assumed UTC).
    timezone: str = "UTC"
    workers: int = 8
    host: str = "127.0.0.1"
    port: int = 8090
    # The callback format of every delivery report (formats.py); the send API is always DI's.
    profile: str = "di"
    # Twilio only: sign each report with X-Twilio-Signature under this auth token.
    twilio_auth_token: str | None = None
    # Infobip only: up to this many reports per request (1: one report per request).
    batch: int = 1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``SMSBOUNCE_DI_*`` variables (see docs/simulators-di.md)."""

        env = Env(environ)
        user, password = env.both_or_neither(
            "SMSBOUNCE_DI_USER",
            "SMSBOUNCE_DI_PASSWORD",
            "to require these credentials, or neither to accept any",
        )
        return cls(
            user=user,
            password=password,
            scenario=scenario_from(env.text("SMSBOUNCE_DI_SCENARIO"), "SMSBOUNCE_DI_SCENARIO"),
            seed=env.integer("SMSBOUNCE_DI_SEED", 0, low=0, high=2**63),
            first_order_id=env.integer("SMSBOUNCE_DI_FIRST_ORDER_ID", None, low=1, high=10**18),
            timezone=env.timezone("SMSBOUNCE_DI_TIMEZONE"),
            workers=env.integer("SMSBOUNCE_DI_WORKERS", 8, low=1, high=256),
            host=env.text("SMSBOUNCE_DI_HOST") or "127.0.0.1",
            port=env.integer("SMSBOUNCE_DI_PORT", 8090, low=0, high=65535),
            profile=profile_from(env.text("SMSBOUNCE_DI_PROFILE") or "di", "SMSBOUNCE_DI_PROFILE"),
            twilio_auth_token=env.text("SMSBOUNCE_DI_TWILIO_AUTH_TOKEN"),
            batch=env.integer("SMSBOUNCE_DI_BATCH", 1, low=1, high=100),
        )


def profile_from(name: str, source: str) -> str:
    """A report format's name or a profile file's path, checked; ``source`` names the variable
    or option."""
    if name not in FORMATS and name not in BUILT_IN_PROFILES and not name.endswith(".json"):
        known = sorted(set(FORMATS) | set(BUILT_IN_PROFILES))
        raise SettingsError(
            f"{source} must be one of {', '.join(known)} or a profile file (.json), not {name!r}."
        )
    try:
        make_format(name)
    except ProfileFormatError as exc:
        raise SettingsError(f"{source}: {exc}") from None
    return name


def scenario_from(path: str | None, source: str) -> Scenario:
    """Load the scenario at ``path`` (the default one when None); ``source`` names the origin."""
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise SettingsError(f"{source}: {exc}") from exc
