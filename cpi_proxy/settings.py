"""The CPI proxy's configuration: one frozen object, read from the environment once at start.

``Settings.from_env()`` is the only place that reads ``os.environ`` (the outbound calls do not
consult proxy or CA variables either); tests build ``Settings(...)`` directly. A bad value stops
the start with a sentence naming the variable (``SettingsError``). The command-line options of
``smsbounce cpi-proxy`` override the variables.
"""

from __future__ import annotations

import re
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from smsbounce.plumbing.env import Env, SettingsError

DEFAULT_USER = "marketing"
DEFAULT_ROLE = "ESBMessaging.send"
DEFAULT_BUFFER_USER = "marketing"
DEFAULT_STATUS_PATH = "/http/hybris_sms/status"
DEFAULT_SEND_PATH = "/http/hybris_sms/sms"
INGEST_PATH = "/api/v1/notifications/set"
STATUS_PATH_ON_BUFFER = "/api/v1/notifications/get"
# CPI's HTTP receiver adapter waits 60 s for an answer by default; connecting should be quick.
DEFAULT_TIMEOUT = (10.0, 60.0)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ADDRESS = re.compile(r"/[A-Za-z0-9._~/-]+")


@dataclass(frozen=True)
class User:
    """A user of the emulated tenant and the roles it holds (CPI: a user with role collections)."""

    name: str
    password: str = field(repr=False)
    roles: frozenset[str] = frozenset({DEFAULT_ROLE})


@dataclass(frozen=True)
class Settings:
    buffer_url: str
    provider_url: str
    buffer_password: str = field(repr=False)
    buffer_user: str = DEFAULT_BUFFER_USER
    # None: no Authorization header towards the provider (only useful against a lenient target).
    provider_user: str | None = None
    provider_password: str | None = field(default=None, repr=False)
    users: tuple[User, ...] = ()
    # The role every address demands (CPI's sender channel "User Role").
    role: str = DEFAULT_ROLE
    password_generated: bool = False
    # The AckReplyAddress DI reports to; it carries the buffer's ingest token, so it is a secret.
    ingest_url: str | None = field(default=None, repr=False)
    # PEM file of trusted CAs (the tenant keystore); None = the system's default trust store.
    ca_bundle: str | None = None
    connect_timeout: float = DEFAULT_TIMEOUT[0]
    read_timeout: float = DEFAULT_TIMEOUT[1]
    status_path: str = DEFAULT_STATUS_PATH
    send_path: str = DEFAULT_SEND_PATH
    # Forces every message's OriginatingAddress (providers accept only registered sender ids).
    sender: str | None = None
    send_concurrency: int = 4
    host: str = "127.0.0.1"
    port: int = 8081
    workers: int = 2
    threads: int = 8

    def __post_init__(self):
        object.__setattr__(self, "buffer_url", self.buffer_url.rstrip("/"))

    @property
    def ack_reply_address(self) -> str:
        """The buffer's ingest URL as DI must call it."""
        return self.ingest_url or self.buffer_url + INGEST_PATH

    @property
    def buffer_status_url(self) -> str:
        return self.buffer_url + STATUS_PATH_ON_BUFFER

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def ssl_context(self) -> ssl.SSLContext:
        """The trust outbound HTTPS calls verify against (CPI: the tenant keystore)."""
        return ssl.create_default_context(cafile=self.ca_bundle)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``SMSBOUNCE_CPI_*`` variables (see docs/cpi-proxy.md)."""
        env = _Env(environ)
        role = env.text("SMSBOUNCE_CPI_ROLE") or DEFAULT_ROLE
        password = env.text("SMSBOUNCE_CPI_PASSWORD")
        generated = password is None
        user = User(
            name=env.text("SMSBOUNCE_CPI_USER") or DEFAULT_USER,
            password=secrets.token_urlsafe(18) if generated else password,
            roles=env.roles("SMSBOUNCE_CPI_USER_ROLES", default=role),
        )
        provider_user, provider_password = env.both_or_neither(
            "SMSBOUNCE_CPI_PROVIDER_USER",
            "SMSBOUNCE_CPI_PROVIDER_PASSWORD",
            "(the provider account's credentials)",
        )
        connect, read = env.timeout("SMSBOUNCE_CPI_TIMEOUT")
        settings = cls(
            buffer_url=env.url("SMSBOUNCE_CPI_BUFFER_URL", required=True),
            buffer_user=env.text("SMSBOUNCE_CPI_BUFFER_USER") or DEFAULT_BUFFER_USER,
            buffer_password=env.required(
                "SMSBOUNCE_CPI_BUFFER_PASSWORD",
                "the buffer never serves bounces without credentials; use its "
                "SMSBOUNCE_API_PASSWORD (or the password it printed at start)",
            ),
            provider_url=env.url("SMSBOUNCE_CPI_PROVIDER_URL", required=True),
            provider_user=provider_user,
            provider_password=provider_password,
            users=(user,),
            role=role,
            password_generated=generated,
            ingest_url=env.url("SMSBOUNCE_CPI_INGEST_URL"),
            ca_bundle=env.ca_bundle("SMSBOUNCE_CPI_CA_BUNDLE"),
            connect_timeout=connect,
            read_timeout=read,
            status_path=env.address("SMSBOUNCE_CPI_STATUS_PATH", DEFAULT_STATUS_PATH),
            send_path=env.address("SMSBOUNCE_CPI_SEND_PATH", DEFAULT_SEND_PATH),
            sender=env.sender("SMSBOUNCE_CPI_SENDER"),
            send_concurrency=env.integer("SMSBOUNCE_CPI_SEND_CONCURRENCY", 4, low=1, high=64),
            host=env.text("SMSBOUNCE_CPI_HOST") or "127.0.0.1",
            port=env.integer("SMSBOUNCE_CPI_PORT", 8081, low=0, high=65535),
            workers=env.integer("SMSBOUNCE_CPI_WORKERS", 2, low=1, high=64),
            threads=env.integer("SMSBOUNCE_CPI_THREADS", 8, low=1, high=256),
        )
        if settings.status_path == settings.send_path:
            raise SettingsError(
                "SMSBOUNCE_CPI_SEND_PATH and SMSBOUNCE_CPI_STATUS_PATH are both "
                f"{settings.send_path!r}: each iFlow needs its own address."
            )
        return settings


class _Env(Env):
    """The proxy's own kinds of value, on top of the shared readers."""

    def roles(self, name: str, *, default: str) -> frozenset[str]:
        raw = self.raw(name)
        if raw is None:
            return frozenset({default})
        # Set but empty is meaningful: a user without roles (answers 403 on every address).
        return frozenset(role.strip() for role in raw.split(",") if role.strip())

    def timeout(self, name: str) -> tuple[float, float]:
        """``60`` (connect and read) or ``10,60`` (connect, read), in seconds."""
        raw = self.text(name)
        if raw is None:
            return DEFAULT_TIMEOUT
        parts = [part.strip() for part in raw.split(",")]
        try:
            values = [float(part) for part in parts]
        except ValueError:
            values = []
        if len(values) not in (1, 2) or not all(0 < v <= 3600 for v in values):
            raise SettingsError(
                f"{name} must be seconds (0 < s <= 3600) for connect and read, e.g. 60, "
                f"or connect,read, e.g. 10,60; not {raw!r}."
            )
        return (values[0], values[-1])

    def ca_bundle(self, name: str) -> str | None:
        path = self.text(name)
        if path is None:
            return None
        try:
            ssl.create_default_context(cafile=path)
        except FileNotFoundError:
            raise SettingsError(f"{name}: no such file {path!r}.") from None
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(
                f"{name}: {path!r} is not a readable PEM file of CA certificates ({exc})."
            ) from None
        return path

    def address(self, name: str, default: str) -> str:
        value = self.text(name) or default
        if not _ADDRESS.fullmatch(value) or "//" in value or value.endswith("/"):
            raise SettingsError(
                f"{name} must be a path such as {default} (letters, digits, '.', '_', '~', "
                f"'-' and single '/'), not {value!r}."
            )
        return value

    def sender(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and (len(value) > 16 or _CONTROL.search(value)):
            raise SettingsError(
                f"{name} must be a sender id of at most 16 characters without control "
                f"characters, not {value!r}."
            )
        return value
