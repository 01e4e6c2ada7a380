"""The three services of the whole flow, started in this process on free ports (for the demo).

Buffer → CPI proxy → DI simulator, wired as in production: Marketing logs in to the proxy, the
proxy logs in to the buffer and to DI, DI reports to the buffer's ingest URL with its token.
Every credential is generated per run. ``wrap`` lets tests put a recorder around each app.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from smsbounce.buffer.app import create_app as create_buffer
from smsbounce.buffer.ingest import INGEST
from smsbounce.buffer.settings import Settings as BufferSettings
from smsbounce.buffer.store import Store
from smsbounce.cpi_proxy.app import create_app as create_proxy
from smsbounce.cpi_proxy.settings import Settings as ProxySettings
from smsbounce.cpi_proxy.settings import User
from smsbounce.plumbing.serving import LocalServer
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


@dataclass
class Services:
    buffer: LocalServer
    proxy: LocalServer
    di_sim: LocalServer
    database_url: str
    marketing_auth: tuple[str, str] = field(repr=False)
    buffer_auth: tuple[str, str] = field(repr=False)
    settle_lag: float
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def send_url(self) -> str:
        return self.proxy.url + SEND_PATH

    @property
    def status_url(self) -> str:
        return self.proxy.url + STATUS_PATH

    def stop(self) -> None:
        """Stop the servers, the simulator's threads, the pool; remove a temporary database."""
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def _ingest_path(provider: str) -> str:
    """DI keeps the article's path; every other provider reports to its profile's endpoint
    (``provider`` is a built-in name or a profile file, named inside)."""
    if provider == "di":
        return INGEST
    return f"/api/v1/providers/{make_format(provider).name}/report"


def start(
    database_url: str | None = None,
    *,
    seed: int = 0,
    scenario: str | Path | None = None,
    provider: str = "di",
    wrap: Callable[[str, object], object] = lambda name, app: app,
) -> Services:
    """Start buffer, DI simulator and CPI proxy; a temporary SQLite file when no URL is given.

    Raises what the parts raise on bad input: ``ScenarioError``, ``UnsupportedDatabaseUrl``,
    ``DatabaseUnavailable`` (after stopping whatever had started).
    """
    closers: list[Callable[[], None]] = []
    try:
        if database_url is None:
            folder = tempfile.mkdtemp(prefix="smsbounce-demo-")
            closers.append(lambda: shutil.rmtree(folder, ignore_errors=True))
            database_url = f"sqlite:///{Path(folder) / 'buffer.db'}"
        return _start(database_url, seed, scenario, provider, wrap, closers)
    except BaseException:
        for close in reversed(closers):
            close()
        raise


def _start(database_url, seed, scenario, provider, wrap, closers) -> Services:
    token = secrets.token_urlsafe(16)
    # The provider signs its reports when it is Twilio, as a real account would.
    twilio_token = secrets.token_urlsafe(16) if provider == "twilio" else None
    buffer_auth = (BUFFER_USER, secrets.token_urlsafe(12))
    marketing_auth = (MARKETING_USER, secrets.token_urlsafe(12))
    di_auth = (DI_ACCOUNT, secrets.token_urlsafe(12))

    settings = BufferSettings(
        database_url=database_url,
        api_user=buffer_auth[0],
        api_password=buffer_auth[1],
        ingest_tokens=(token,),
        settle_lag=SETTLE_LAG,
        db_timeout=DB_TIMEOUT,
        twilio_auth_token=twilio_token,
        # A provider given as a profile file is the buffer's profile too.
        provider_files=(provider,) if provider.endswith(".json") else (),
    )
    settings.check_consistency()
    store = Store.open(settings)
    closers.append(store.close)
    store.create_tables()
    buffer = LocalServer(wrap("buffer", create_buffer(settings, store)))
    closers.append(buffer.stop)

    di_settings = DISettings(
        user=di_auth[0],
        password=di_auth[1],
        scenario=load_scenario(scenario),
        seed=seed,
        profile=provider,
        twilio_auth_token=twilio_token,
    )
    di_app = create_di_sim(di_settings)
    closers.append(di_app.simulator.close)
    di_sim = LocalServer(wrap("di-sim", di_app))
    closers.append(di_sim.stop)

    proxy_settings = ProxySettings(
        buffer_url=buffer.url,
        buffer_user=buffer_auth[0],
        buffer_password=buffer_auth[1],
        provider_url=f"{di_sim.url}/cmn/{di_auth[0]}/{di_auth[0]}.sms",
        provider_user=di_auth[0],
        provider_password=di_auth[1],
        users=(User(*marketing_auth),),
        ingest_url=f"{buffer.url}{_ingest_path(provider)}/{token}",
        send_path=SEND_PATH,
        status_path=STATUS_PATH,
        send_concurrency=8,
    )
    proxy = LocalServer(wrap("cpi-proxy", create_proxy(proxy_settings)))
    closers.append(proxy.stop)
    return Services(
        buffer=buffer,
        proxy=proxy,
        di_sim=di_sim,
        database_url=database_url,
        marketing_auth=marketing_auth,
        buffer_auth=buffer_auth,
        settle_lag=SETTLE_LAG,
        _closers=closers,
    )
