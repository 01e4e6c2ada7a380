"""smsbounce's pytest plugin (entry point ``pytest11``): the whole flow as fixtures, each a real
server on 127.0.0.1, port 0, stopped after the test (docs/pytest-plugin.md).

- ``smsbounce_database_url``: SQLite in the test's ``tmp_path``, or an empty database on the
  PostgreSQL server given (``--smsbounce-database-url``, ``SMSBOUNCE_PYTEST_DATABASE_URL`` or
  the ini's ``smsbounce_database_url``; one database per session, dropped at its end);
- ``smsbounce_buffer`` (``smsbounce_start_buffer(**settings)``): our buffer on that database;
- ``smsbounce_di_sim`` (``smsbounce_start_di_sim(**settings)``): the provider (DI) simulator;
- ``smsbounce_cpi_proxy`` (``smsbounce_start_cpi_proxy(…)``): CPI's iFlows in front of a
  buffer, ours or yours, and the simulator;
- ``smsbounce_marketing``: SAP Marketing sending through the proxy, polling, reconciling;
- ``smsbounce_verify(status_url, auth, **options)``: ``smsbounce verify`` as a function;
- ``smsbounce_di_mock``, ``smsbounce_status_mock``: ``responses`` mocks of DI's send API and
  Marketing's status endpoint (on ``smsbounce_responses``).

Our modules are imported inside the fixtures: pytest loads this plugin in every session of an
environment where smsbounce is installed, and such a session should not pay for (or, without
``responses`` or ``psycopg``, fail on) services it never starts.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import pytest

DATABASE_URL_VARIABLE = "SMSBOUNCE_PYTEST_DATABASE_URL"
DEFAULT_SETTLE_LAG = "2"  # services.SETTLE_LAG: quick, and above the database timeout


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smsbounce", "smsbounce fixtures (docs/pytest-plugin.md)")
    group.addoption(
        "--smsbounce-database-url",
        help="PostgreSQL server for the smsbounce buffer fixtures, e.g. "
        "postgresql://postgres@127.0.0.1:5432/postgres: each session creates a database of its "
        f"own there and drops it at the end (or {DATABASE_URL_VARIABLE}; default SQLite).",
    )
    parser.addini(
        "smsbounce_database_url",
        "PostgreSQL server for the smsbounce buffer fixtures (as --smsbounce-database-url).",
    )
    parser.addini(
        "smsbounce_provider_files",
        "Provider profile files the smsbounce buffer fixture loads, relative to the ini file.",
        type="paths",
        default=[],
    )
    parser.addini(
        "smsbounce_settle_lag",
        "Settle lag (seconds) of the smsbounce buffer fixture, and verify's default.",
        default=DEFAULT_SETTLE_LAG,
    )


def _server_url(config: pytest.Config) -> str | None:
    return (
        config.getoption("smsbounce_database_url")
        or os.environ.get(DATABASE_URL_VARIABLE)
        or config.getini("smsbounce_database_url")
        or None
    )


def _settle_lag(config: pytest.Config) -> float:
    return float(config.getini("smsbounce_settle_lag"))


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``server_url`` (the URL names any database
    the user may connect to, and may ``CREATE DATABASE``); its URL, dropped on exit. A database
    of its own keeps concurrent runs on one server from seeing each other's rows.
    ``psycopg.OperationalError`` when the server cannot be reached."""
    import psycopg

    admin = psycopg.connect(server_url, connect_timeout=5, autocommit=True)
    name = f"smsbounce_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(server_url)._replace(path="/" + name))
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def empty_database(url: str) -> str:
    """``url``, its buffer tables created and emptied."""
    from smsbounce.buffer.settings import Settings
    from smsbounce.buffer.store import Store

    store = Store.open(Settings(database_url=url))
    try:
        store.create_tables()
        store.clear()
    finally:
        store.close()
    return url


@pytest.fixture(scope="session")
def _smsbounce_postgresql(pytestconfig) -> Iterator[str | None]:
    server_url = _server_url(pytestconfig)
    if server_url is None:
        yield None
        return
    with throwaway_database(server_url) as url:
        yield url


@pytest.fixture
def smsbounce_database_url(_smsbounce_postgresql, tmp_path) -> str:
    """The buffer's database: this session's PostgreSQL database, emptied, when a server was
    given, else a SQLite file in ``tmp_path``."""
    return empty_database(_smsbounce_postgresql or f"sqlite:///{tmp_path / 'buffer.db'}")


@pytest.fixture
def smsbounce_provider_files(pytestconfig) -> list[str]:
    """Profile files of providers that are not built in (ini ``smsbounce_provider_files``);
    override this fixture to choose them per test module."""
    return [str(path) for path in pytestconfig.getini("smsbounce_provider_files")]


@pytest.fixture
def _smsbounce_closers():
    from smsbounce.simulators import services

    closers: services.Closers = []
    yield closers
    services.stop(closers)


@pytest.fixture
def smsbounce_start_buffer(
    _smsbounce_closers, smsbounce_database_url, smsbounce_provider_files, pytestconfig
):
    """Start buffers: ``start(**settings)`` (fields of ``smsbounce.buffer.settings.Settings``,
    e.g. ``page_size=10``) returns a ``services.Buffer`` (``url``, ``status_url``, ``auth``,
    ``ingest_url(provider)``, ``store``); each is stopped after the test."""
    from smsbounce.simulators import services

    def start(**settings) -> services.Buffer:
        options = {
            "database_url": smsbounce_database_url,
            "settle_lag": _settle_lag(pytestconfig),
            "provider_files": smsbounce_provider_files,
            **settings,
        }
        return services.start_buffer(_smsbounce_closers, **options)

    return start


@pytest.fixture
def smsbounce_buffer(smsbounce_start_buffer):
    """Our buffer on ``smsbounce_database_url``, with the ini's settle lag and profile files."""
    return smsbounce_start_buffer()


@pytest.fixture
def smsbounce_start_di_sim(_smsbounce_closers):
    """Start DI simulators: ``start(scenario=None, **settings)`` (fields of
    ``smsbounce.simulators.di.settings.Settings``: ``seed``, ``profile``, ``first_order_id`` …)
    returns a ``services.DISim`` (``url``, ``send_url``, ``auth``, ``simulator``)."""
    from smsbounce.simulators import services

    return lambda **settings: services.start_di_sim(_smsbounce_closers, **settings)


@pytest.fixture
def smsbounce_di_sim(smsbounce_start_di_sim):
    """The DI simulator with its packaged scenario (mixed outcomes, faults on), seed 0."""
    return smsbounce_start_di_sim()


@pytest.fixture
def smsbounce_start_cpi_proxy(_smsbounce_closers, request):
    """Start CPI proxies: ``start(buffer_url=None, buffer_auth=None, ingest_url=None,
    di_sim=None)`` — in front of your own endpoint when ``buffer_url`` is given (it must serve
    ``/api/v1/notifications/get`` with ``buffer_auth``), else of ``smsbounce_buffer``; orders
    go to ``di_sim`` (default ``smsbounce_di_sim``), which reports to ``ingest_url`` (default:
    the buffer's endpoint for the simulator's profile). Returns a ``services.Proxy``."""
    from smsbounce.simulators import services

    def start(buffer_url=None, buffer_auth=None, ingest_url=None, di_sim=None) -> services.Proxy:
        di_sim = di_sim or request.getfixturevalue("smsbounce_di_sim")
        if buffer_url is None or ingest_url is None:
            ours = request.getfixturevalue("smsbounce_buffer")
            buffer_url, buffer_auth = buffer_url or ours.url, buffer_auth or ours.auth
            ingest_url = ingest_url or ours.ingest_url(di_sim.settings.profile)
        return services.start_proxy(
            _smsbounce_closers, buffer_url, buffer_auth, di_sim, ingest_url=ingest_url
        )

    return start


@pytest.fixture
def smsbounce_cpi_proxy(smsbounce_start_cpi_proxy):
    """The CPI proxy in front of ``smsbounce_buffer`` and ``smsbounce_di_sim``."""
    return smsbounce_start_cpi_proxy()


@dataclass
class Marketing:
    """SAP Marketing's generic adapter against ``services`` (the proxy's send and status
    routes with Marketing's credentials); ``run`` is ``smsbounce demo``'s round."""

    services: object  # services.Services
    pollers: list = field(default_factory=list, repr=False)

    @property
    def status_url(self) -> str:
        return self.services.status_url

    @property
    def auth(self) -> tuple[str, str]:
        return self.services.marketing_auth

    def send(self, count: int, *, seed: int = 0, run: str = "pytest"):
        """Send ``count`` generated messages through CPI; a ``SendOutcome`` (accepted ids)."""
        from smsbounce.simulators.marketing.client import make_messages, send_messages

        messages = make_messages(count, run=run, seed=seed)
        return send_messages(self.services.send_url, self.auth, messages)

    def poller(self, since: datetime | None = None, **options):
        """A ``Poller`` from ``since`` (default now): ``tick()`` polls the next window page by
        page, ``interactions`` and ``violations`` grow."""
        from smsbounce.simulators.marketing.poller import Poller
        from smsbounce.simulators.marketing.windows import whole_second

        since = since or whole_second(datetime.now(timezone.utc))
        return Poller(self.status_url, self.auth, since, **options)

    def run(self, count: int, *, seed: int = 0, timeout: float = 120.0):
        """Send ``count`` messages, poll until the provider has settled, reconcile with its
        ground truth: a ``FlowResult`` whose ``ok`` is ``smsbounce demo``'s exit status."""
        from smsbounce.simulators import flow

        return flow.run(self.services, count, seed=seed, timeout=timeout)


@pytest.fixture
def smsbounce_marketing(smsbounce_buffer, smsbounce_di_sim, smsbounce_cpi_proxy):
    """SAP Marketing in front of ``smsbounce_cpi_proxy`` (``send``, ``poller``, ``run``)."""
    from smsbounce.simulators import services

    return Marketing(services.Services(smsbounce_buffer, smsbounce_cpi_proxy, smsbounce_di_sim))


@pytest.fixture
def smsbounce_verify(pytestconfig):
    """``verify(status_url, auth=None, **options)``: ``smsbounce verify`` as a function
    (``smsbounce.simulators.verify.verify``), ``settle_lag`` defaulting to the ini's and
    ``timeout`` to 10 s. Returns the ``Result``: ``passed``, ``failures`` (``check``,
    ``evidence``), ``table()``; raises ``CouldNotRun`` for an endpoint it cannot check."""
    from smsbounce.simulators.verify import verify

    def run(status_url: str, auth=None, **options):
        defaults = {"settle_lag": _settle_lag(pytestconfig), "timeout": 10.0}
        return verify(status_url, auth, **{**defaults, **options})

    return run


@pytest.fixture
def smsbounce_responses():
    """The ``responses.RequestsMock`` the two mocks below answer on, active for the test;
    register your own answers on it too (``add``, ``add_callback``)."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def smsbounce_di_mock(smsbounce_responses):
    """``mocks.DigitalInterconnect``: DI's send API at ``https://di.example`` (``send_url``,
    ``auth``), answered by the DI simulator; ``reports()`` what DI would call back."""
    from smsbounce.simulators.mocks import DigitalInterconnect

    mock = DigitalInterconnect(smsbounce_responses)
    yield mock
    mock.close()


@pytest.fixture
def smsbounce_status_mock(smsbounce_responses):
    """``mocks.StatusEndpoint``: Marketing's status endpoint at
    ``https://cpi.example/http/hybris_sms/status`` (``url``, ``auth``); ``add`` bounces."""
    from smsbounce.simulators.mocks import StatusEndpoint

    return StatusEndpoint(smsbounce_responses)
