"""The three services of the whole flow, started in this process on free ports.

Buffer → CPI proxy → DI simulator, wired as in production: Marketing logs in to the proxy, the
proxy logs in to the buffer and to DI, DI reports to the buffer's ingest URL with its token.
Every credential is generated per run. ``start`` starts all three for the demo; the pytest
plugin starts them one at a time with ``start_buffer``, ``start_di_sim`` and ``start_proxy``.
Each ``start_*`` appends what stops it to ``closers``, so the caller stops everything in reverse
order. ``wrap`` lets tests put a recorder around each app.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smsbounce.buffer.app import create_app as create_buffer
from smsbounce.buffer.ingest import INGEST
from smsbounce.buffer.settings import Settings as BufferSettings
from smsbounce.buffer.store import Store
from smsbounce.cpi_proxy.app import create_app as create_proxy
from smsbounce.cpi_proxy.settings import STATUS_PATH_ON_BUFFER, User
from smsbounce.cpi_proxy.settings import Settings as ProxySettings
from smsbounce.plumbing.local_server import LocalServer
from smsbounce.simulators.di.app import create_app as create_di_sim
from smsbounce.simulators.di.formats import make_format
from smsbounce.simulators.di.scenario import load_scenario
from smsbounce.simulators.di.settings import Settings as DISettings

# Small enough for a quick demo, larger than the database timeout as the buffer requires: a
# write that takes its full second still commits before a poll can pass over its receive time.
SETTLE_LAG = 2.0
DB_TIMEOUT = 1.0
MARKETING_USER, BUFFER_USER, DI_ACCOUNT = "marketing", "cpi", "demo"
SEND_PATH, STATUS_PATH = "/http/hybris_sms/sms", "/http/hybris_sms/status"

Closers = list[Callable[[], None]]
Wrap = Callable[[str, object], object]


def _unwrapped(name: str, app: object) -> object:
    return app


def credentials(user: str) -> tuple[str, str]:
    """``(user, a fresh password)``: every run's passwords are its own."""
    return user, secrets.token_urlsafe(12)


@dataclass
class _Served:
    """A service in this process, served on a free port at ``url``."""

    server: LocalServer

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Buffer(_Served):
    """Our buffer on a free port: ``url``, ``status_url`` (Marketing's read, ``auth``) and
    ``ingest_url(provider)`` (a provider's callback URL, token included)."""

    settings: BufferSettings
    store: Store
    auth: tuple[str, str] = field(repr=False)
    token: str = field(repr=False)

    @property
    def status_url(self) -> str:
        return self.url + STATUS_PATH_ON_BUFFER

    def ingest_url(self, provider: str = "di") -> str:
        """Where ``provider`` reports: DI keeps the article's path, every other provider (built
        in or from a profile file) its profile's endpoint; the token is the last segment."""
        if provider == "di":
            path = INGEST
        elif provider.endswith(".json"):  # a profile file is named inside
            path = f"/api/v1/providers/{make_format(provider).name}/report"
        else:
            path = f"/api/v1/providers/{provider}/report"
        return f"{self.url}{path}/{self.token}"


@dataclass
class DISim(_Served):
    """The Digital Interconnect simulator on a free port: ``send_url`` takes orders with
    ``auth``; ``simulator`` holds the ground truth the ``/_sim/`` control API serves."""

    settings: DISettings
    simulator: object
    auth: tuple[str, str] = field(repr=False)

    @property
    def send_url(self) -> str:
        account = self.auth[0]
        return f"{self.url}/cmn/{account}/{account}.sms"


@dataclass
class Proxy(_Served):
    """The CPI proxy on a free port: Marketing's ``send_url`` and ``status_url``, with ``auth``."""

    auth: tuple[str, str] = field(repr=False)

    @property
    def send_url(self) -> str:
        return self.url + SEND_PATH

    @property
    def status_url(self) -> str:
        return self.url + STATUS_PATH


@dataclass
class Services:
    buffer: Buffer
    proxy: Proxy
    di_sim: DISim
    _closers: Closers = field(default_factory=list, repr=False)

    @property
    def database_url(self) -> str:
        return self.buffer.settings.database_url

    @property
    def marketing_auth(self) -> tuple[str, str]:
        return self.proxy.auth

    @property
    def buffer_auth(self) -> tuple[str, str]:
        return self.buffer.auth

    @property
    def settle_lag(self) -> float:
        return self.buffer.settings.settle_lag

    @property
    def send_url(self) -> str:
        return self.proxy.send_url

    @property
    def status_url(self) -> str:
        return self.proxy.status_url

    def stop(self) -> None:
        """Stop the servers, the simulator's threads, the pool; remove a temporary database."""
        stop(self._closers)


def stop(closers: Closers) -> None:
    """Run ``closers`` last first, and forget them."""
    for close in reversed(closers):
        close()
    closers.clear()


def temporary_database(closers: Closers) -> str:
    """A SQLite URL in a fresh temporary folder, removed by the last closer."""
    folder = tempfile.mkdtemp(prefix="smsbounce-")
    closers.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return f"sqlite:///{Path(folder) / 'buffer.db'}"


def start(
    database_url: str | None = None,
    *,
    seed: int = 0,
    scenario: str | Path | None = None,
    provider: str = "di",
    wrap: Wrap = _unwrapped,
) -> Services:
    """Start buffer, DI simulator and CPI proxy; a temporary SQLite file when no URL is given.

    Raises what the parts raise on bad input: ``ScenarioError``, ``UnsupportedDatabaseUrl``,
    ``DatabaseUnavailable`` (after stopping whatever had started).
    """
    closers: Closers = []
    try:
        database_url = database_url or temporary_database(closers)
        # The provider signs its reports when it is Twilio, as a real account would.
        twilio_token = secrets.token_urlsafe(16) if provider == "twilio" else None
        # A provider given as a profile file is the buffer's profile too.
        files = (provider,) if provider.endswith(".json") else ()
        buffer = start_buffer(
            closers, database_url, twilio_auth_token=twilio_token, provider_files=files, wrap=wrap
        )
        di_sim = start_di_sim(
            closers,
            seed=seed,
            scenario=scenario,
            profile=provider,
            twilio_auth_token=twilio_token,
            wrap=wrap,
        )
        proxy = start_proxy(
            closers,
            buffer.url,
            buffer.auth,
            di_sim,
            ingest_url=buffer.ingest_url(provider),
            wrap=wrap,
        )
    except BaseException:
        stop(closers)
        raise
    return Services(buffer=buffer, proxy=proxy, di_sim=di_sim, _closers=closers)


def start_buffer(
    closers: Closers,
    database_url: str,
    *,
    settle_lag: float = SETTLE_LAG,
    db_timeout: float = DB_TIMEOUT,
    provider_files: Sequence[str] = (),
    wrap: Wrap = _unwrapped,
    **settings,
) -> Buffer:
    """Our buffer on ``database_url`` (its tables created), with generated Marketing
    credentials and ingest token. ``settings``: further ``buffer.settings.Settings`` fields."""
    auth = credentials(BUFFER_USER)
    token = secrets.token_urlsafe(16)
    buffer_settings = BufferSettings(
        database_url=database_url,
        api_user=auth[0],
        api_password=auth[1],
        ingest_tokens=(token,),
        settle_lag=settle_lag,
        db_timeout=db_timeout,
        provider_files=tuple(str(path) for path in provider_files),
        **settings,
    )
    buffer_settings.check_consistency()
    store = Store.open(buffer_settings)
    closers.append(store.close)
    store.create_tables()
    server = LocalServer(wrap("buffer", create_buffer(buffer_settings, store)))
    closers.append(server.stop)
    return Buffer(server, buffer_settings, store, auth, token)


def start_di_sim(
    closers: Closers,
    *,
    scenario: str | Path | None = None,
    wrap: Wrap = _unwrapped,
    **settings,
) -> DISim:
    """The DI simulator with a generated account; ``scenario`` a file (default: the packaged
    one); ``settings``: further ``simulators.di.settings.Settings`` fields (seed, profile …)."""
    auth = credentials(DI_ACCOUNT)
    di_settings = DISettings(
        user=auth[0], password=auth[1], scenario=load_scenario(scenario), **settings
    )
    app = create_di_sim(di_settings)
    closers.append(app.simulator.close)
    server = LocalServer(wrap("di-sim", app))
    closers.append(server.stop)
    return DISim(server, di_settings, app.simulator, auth)


def start_proxy(
    closers: Closers,
    buffer_url: str,
    buffer_auth: tuple[str, str],
    di_sim: DISim,
    *,
    ingest_url: str,
    wrap: Wrap = _unwrapped,
) -> Proxy:
    """CPI's two iFlows in front of the buffer at ``buffer_url`` (ours or any other endpoint
    that serves ``/api/v1/notifications/get``) and the DI simulator; orders ask DI to report to
    ``ingest_url``. Marketing's credentials are generated."""
    marketing_auth = credentials(MARKETING_USER)
    proxy_settings = ProxySettings(
        buffer_url=buffer_url,
        buffer_user=buffer_auth[0],
        buffer_password=buffer_auth[1],
        provider_url=di_sim.send_url,
        provider_user=di_sim.auth[0],
        provider_password=di_sim.auth[1],
        users=(User(*marketing_auth),),
        ingest_url=ingest_url,
        send_path=SEND_PATH,
        status_path=STATUS_PATH,
        send_concurrency=8,
    )
    server = LocalServer(wrap("cpi-proxy", create_proxy(proxy_settings)))
    closers.append(server.stop)
    return Proxy(server, marketing_auth)
