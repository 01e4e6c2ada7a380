"""The buffer's configuration: one frozen object, read from the environment once at start.

``Settings.from_env()`` is the only place that reads ``os.environ``; tests build ``Settings(...)``
directly. A bad value stops the start with a sentence naming the variable (``SettingsError``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from smsbounce import contracts
from smsbounce.plumbing.env import Env, SettingsError
from smsbounce.plumbing.web import weak_password

from . import cloudfoundry
from .providers import ProfileError, signature_variables
from .providers.di import StatusTable

DEFAULT_DATABASE_URL = "sqlite:///smsbounce.db"
DEFAULT_API_USER = "marketing"
ENVIRONMENTS = ("production", "test")
# Twilio's key had a field of its own before profiles named their signature's variable.
TWILIO_VARIABLE = "SMSBOUNCE_TWILIO_AUTH_TOKEN"  # noqa: S105 (a name, not a key)


def load_status_table(path: str | Path | None = None) -> StatusTable:
    """Load a code → type table (``contracts/schemas/status-types``); DI's when ``path`` is None."""
    source = files("smsbounce.buffer") / "status_types" / "di.json" if path is None else Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"SMSBOUNCE_STATUS_TYPES: cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"SMSBOUNCE_STATUS_TYPES: {path} is not JSON (line {exc.lineno}: {exc.msg})"
        ) from exc
    reasons = contracts.problems("status-types", document)
    if reasons:
        raise SettingsError(f"SMSBOUNCE_STATUS_TYPES: {path}: " + "; ".join(reasons))
    try:
        return StatusTable.from_document(document)
    except ValueError as exc:
        raise SettingsError(f"SMSBOUNCE_STATUS_TYPES: {path}: {exc}") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    api_user: str = DEFAULT_API_USER
    # None only before from_env() fills it; the app refuses to serve `get` without a password.
    api_password: str | None = None
    password_generated: bool = False
    ingest_tokens: tuple[str, ...] = ()
    enable_clear: bool = False
    environment: str = "production"
    page_size: int = 100
    max_window_days: int = 366
    settle_lag: float = 30.0
    db_timeout: float = 10.0
    # Connections one worker may hold at once; None: one per thread (docs/operations.md,
    # "Scale out").
    db_pool_size: int | None = None
    # Group commit (buffer/group_commit.py): most reports in one transaction, and how long a
    # batch's leader waits for more once it has some (0: only what is already waiting).
    batch_size: int = 64
    batch_wait: float = 0.0
    provider_timezone: str = "UTC"
    status_table: StatusTable = field(default_factory=load_status_table)
    provider_files: tuple[str, ...] = ()
    twilio_auth_token: str | None = None
    # The keys of the profiles' signatures, by the variable each names (those set).
    signature_keys: Mapping[str, str] = field(default_factory=dict)
    # The URL providers call, when a proxy in front changes it (Twilio signs that URL).
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # One per two cores (issue 22, measured on 2: one worker's event loop batches more reports
    # per commit than two, about 20 % less CPU per report; docs/benchmarks.md).
    workers: int = 1
    threads: int = 8
    # The report intake on each worker's event loop (buffer/loop_intake.py); off: the ingest
    # routes are answered on the threads like every other route.
    loop_intake: bool = True
    # Slow clients (docs/security.md): the longest a request's head, then its body, may take to
    # arrive; an idle kept-alive connection is closed after header_timeout too.
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    # Operations (docs/operations.md).
    log_phone_numbers: bool = False
    metrics_dir: str | None = None
    retention_days: float | None = None
    purge_interval: float = 0.0
    migrate_on_start: bool = True
    on_cloud_foundry: bool = False
    # Failed logins per client (docs/security.md): this many in a row, then one more try earned
    # every auth_failure_refill seconds; refused unchecked with 429 until then.
    auth_failure_burst: int = 10
    auth_failure_refill: float = 6.0
    # Proxies in front that append to X-Forwarded-For (1: the Cloud Foundry router); the client
    # of a request is the address the outermost of them saw. 0: the peer address.
    forwarded_hops: int = 0
    # Reports a profile cannot map, kept for replay (docs/spec.md §4): at most this many, of at
    # most this many bytes of raw requests; beyond, 503. Acknowledged reports kept until
    # keep_all_reports_until (UTC) have the same bound of their own.
    unmapped_max_entries: int = 10_000
    unmapped_max_bytes: int = 50_000_000
    keep_all_reports_until: datetime | None = None

    def signature_key(self, variable: str) -> str | None:
        """The key a profile's signature names by its variable; None when it is not set."""
        if variable == TWILIO_VARIABLE:
            return self.twilio_auth_token
        return self.signature_keys.get(variable)

    @property
    def pool_size(self) -> int:
        return self.db_pool_size or self.threads

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.provider_timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``SMSBOUNCE_*`` variables (docs/configuration.md); an unset one
        takes the field's default above, written only there."""
        env = _Env(environ)
        password = env.text("SMSBOUNCE_API_PASSWORD")
        generated = password is None
        on_cf = env.text("VCAP_APPLICATION") is not None
        provider_files = env.items("SMSBOUNCE_PROVIDER_FILES")
        settings = cls(
            database_url=env.text("SMSBOUNCE_DATABASE_URL")
            or env.text("DATABASE_URL")
            or env.bound_database("VCAP_SERVICES", env.text("SMSBOUNCE_CF_SERVICE"))
            or DEFAULT_DATABASE_URL,
            api_user=env.text("SMSBOUNCE_API_USER") or DEFAULT_API_USER,
            api_password=secrets.token_urlsafe(18) if generated else password,
            password_generated=generated,
            ingest_tokens=env.tokens("SMSBOUNCE_INGEST_TOKENS"),
            enable_clear=env.flag("SMSBOUNCE_ENABLE_CLEAR"),
            environment=env.choice("SMSBOUNCE_ENVIRONMENT", ENVIRONMENTS, cls.environment),
            page_size=env.integer("SMSBOUNCE_PAGE_SIZE", cls.page_size, low=1, high=1000),
            max_window_days=env.integer(
                "SMSBOUNCE_MAX_WINDOW_DAYS", cls.max_window_days, low=1, high=3660
            ),
            settle_lag=env.number("SMSBOUNCE_SETTLE_LAG", cls.settle_lag, low=0, high=3600),
            db_timeout=env.number("SMSBOUNCE_DB_TIMEOUT", cls.db_timeout, low=0.1, high=600),
            db_pool_size=env.integer("SMSBOUNCE_DB_POOL_SIZE", cls.db_pool_size, low=1, high=256),
            batch_size=env.integer("SMSBOUNCE_BATCH_SIZE", cls.batch_size, low=1, high=1000),
            batch_wait=env.number("SMSBOUNCE_BATCH_WAIT", cls.batch_wait, low=0, high=1),
            provider_timezone=env.timezone("SMSBOUNCE_PROVIDER_TIMEZONE", cls.provider_timezone),
            status_table=load_status_table(env.text("SMSBOUNCE_STATUS_TYPES")),
            provider_files=provider_files,
            twilio_auth_token=env.text(TWILIO_VARIABLE),
            signature_keys=env.signature_keys(provider_files),
            public_url=(env.url("SMSBOUNCE_PUBLIC_URL") or "").rstrip("/") or None,
            # On Cloud Foundry the router reaches the app on the container's interface.
            host=env.text("SMSBOUNCE_HOST") or ("0.0.0.0" if on_cf else cls.host),  # noqa: S104
            port=env.integer("PORT", cls.port, low=0, high=65535),
            workers=env.integer("SMSBOUNCE_WORKERS", cls.workers, low=1, high=64),
            threads=env.integer("SMSBOUNCE_THREADS", cls.threads, low=1, high=256),
            loop_intake=env.flag("SMSBOUNCE_LOOP_INTAKE", cls.loop_intake),
            header_timeout=env.number(
                "SMSBOUNCE_HEADER_TIMEOUT", cls.header_timeout, low=1, high=60
            ),
            body_timeout=env.number("SMSBOUNCE_BODY_TIMEOUT", cls.body_timeout, low=1, high=600),
            log_phone_numbers=env.flag("SMSBOUNCE_LOG_PHONE_NUMBERS"),
            metrics_dir=env.text("PROMETHEUS_MULTIPROC_DIR"),
            retention_days=env.optional_number(
                "SMSBOUNCE_RETENTION_DAYS", low=1, high=36600, unit="days"
            ),
            purge_interval=env.number(
                "SMSBOUNCE_PURGE_INTERVAL", cls.purge_interval, low=0, high=7 * 86400
            ),
            migrate_on_start=env.flag("SMSBOUNCE_MIGRATE_ON_START", default=cls.migrate_on_start),
            on_cloud_foundry=on_cf,
            forwarded_hops=env.integer(
                "SMSBOUNCE_FORWARDED_HOPS", 1 if on_cf else cls.forwarded_hops, low=0, high=10
            ),
            unmapped_max_entries=env.integer(
                "SMSBOUNCE_UNMAPPED_MAX_ENTRIES", cls.unmapped_max_entries, low=1, high=10**7
            ),
            # Not below 2 MB: the largest body (256 KiB) may take six times its size as a
            # record (bytes outside ASCII are escaped), and a record that never fits is a 503
            # forever.
            unmapped_max_bytes=env.integer(
                "SMSBOUNCE_UNMAPPED_MAX_BYTES", cls.unmapped_max_bytes, low=2_000_000, high=10**12
            ),
            keep_all_reports_until=env.moment("SMSBOUNCE_KEEP_ALL_REPORTS_UNTIL"),
        )
        settings.check_consistency()
        settings.check_profiles()
        return settings

    def check_profiles(self) -> None:
        """Load every provider profile once, so a bad mapping file stops the start."""
        from .providers import load_profiles

        try:
            load_profiles(self)
        except ProfileError as exc:
            raise SettingsError(f"SMSBOUNCE_PROVIDER_FILES: {exc}") from None

    def check_consistency(self) -> None:
        """Refuse combinations that would break a guarantee (docs/spec.md §4, §5)."""
        if self.enable_clear and self.environment == "production":
            raise SettingsError(
                "SMSBOUNCE_ENABLE_CLEAR is set but SMSBOUNCE_ENVIRONMENT is 'production': "
                "the clear endpoint deletes every bounce and exists only for tests; "
                "set SMSBOUNCE_ENVIRONMENT=test to use it."
            )
        if self.environment == "production" and not self.password_generated:
            problem = weak_password(self.api_password or "")
            if problem:
                raise SettingsError(
                    f"SMSBOUNCE_API_PASSWORD is too weak for production: {problem} (e.g. "
                    "`openssl rand -base64 24`); unset it to have one generated and printed, or "
                    "set SMSBOUNCE_ENVIRONMENT=test for a test buffer."
                )
        if self.purge_interval and self.retention_days is None:
            raise SettingsError(
                "SMSBOUNCE_PURGE_INTERVAL is set but SMSBOUNCE_RETENTION_DAYS is not: "
                "say how many days bounces are kept before scheduling their purge."
            )
        if self.settle_lag and self.settle_lag <= self.db_timeout:
            raise SettingsError(
                f"SMSBOUNCE_SETTLE_LAG ({self.settle_lag:g} s) must be larger than "
                f"SMSBOUNCE_DB_TIMEOUT ({self.db_timeout:g} s), the longest a write may take; "
                "otherwise a slow commit can slip past a poll and its bounce is never served."
            )
        if self.batch_wait >= self.db_timeout:
            raise SettingsError(
                f"SMSBOUNCE_BATCH_WAIT ({self.batch_wait:g} s) must be shorter than "
                f"SMSBOUNCE_DB_TIMEOUT ({self.db_timeout:g} s): a report's wait for its commit, "
                "the batch's wait included, counts against the timeout."
            )


class _Env(Env):
    """The buffer's own kinds of value, on top of the shared readers."""

    def bound_database(self, name: str, service: str | None) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return cloudfoundry.database_url(raw, service)
        except cloudfoundry.VcapError as exc:
            raise SettingsError(str(exc)) from None

    def moment(self, name: str) -> datetime | None:
        """An ISO 8601 date or date and time, UTC unless it names its offset; a date alone is
        the start of that day."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            text = raw.strip()  # Python 3.10 reads no "Z"
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
        except ValueError:
            raise SettingsError(
                f"{name}: {raw!r} is not an ISO 8601 date or time (e.g. 2026-07-01 or "
                "2026-07-01T12:00:00Z)"
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def signature_keys(self, provider_files: tuple[str, ...]) -> dict[str, str]:
        """The variables the profiles' signatures name, those that are set."""
        try:
            names = signature_variables(provider_files)
        except ProfileError as exc:
            raise SettingsError(f"SMSBOUNCE_PROVIDER_FILES: {exc}") from None
        values = {name: self.text(name) for name in names if name != TWILIO_VARIABLE}
        return {name: value for name, value in values.items() if value}

    def tokens(self, name: str) -> tuple[str, ...]:
        tokens = self.items(name)
        for token in tokens:
            if len(token) < 16 or not token.replace("-", "").replace("_", "").isalnum():
                raise SettingsError(
                    f"{name}: every token must be at least 16 characters of letters, digits, "
                    "'-' or '_' (it is part of a URL and guards an unauthenticated endpoint)."
                )
        return tokens
