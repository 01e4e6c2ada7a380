"""Opening the database from a URL; every difference between SQLite and PostgreSQL lives here.

``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``postgresql://user@host:port/name``
(``postgres://`` too, as Cloud Foundry writes it) are accepted. Both are pooled: PostgreSQL's pool
pings a connection on checkout, so connections survive a server restart.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from peewee import Database, InterfaceError, OperationalError
from playhouse.db_url import connect as connect_url
from playhouse.db_url import parse as parse_url
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

from .errors import DatabaseUnavailable

SCHEMES = ("sqlite", "postgres", "postgresql")

# What a broken, locked, slow or missing database raises; answered with 503 so senders retry.
UNAVAILABLE = (OperationalError, InterfaceError, MaxConnectionsExceeded)


class UnsupportedDatabaseUrl(ValueError):
    pass


class _PostgresPool(PooledPostgresqlDatabase):
    """playhouse's pool that, after a connection attempt timed out, fails at once for a while.

    playhouse opens connections while holding the database lock, so when the server stops
    answering, every thread of a worker would wait one connect timeout after another; instead
    the threads queued behind a timed-out attempt answer 503 at once, and the next attempt is
    made when the pause is over. A refused connection fails fast anyway and pauses nothing, so
    the buffer is back the moment the database is.
    """

    def __init__(self, *args, pause: float, **kwargs):
        self._pause = pause
        self._failing_until = 0.0
        super().__init__(*args, **kwargs)

    def _connect(self):
        if time.monotonic() < self._failing_until:
            raise OperationalError("the database did not answer a moment ago; retry later")
        started = time.monotonic()
        try:
            return super()._connect()
        except Exception:
            if time.monotonic() - started >= self._pause / 2:
                self._failing_until = time.monotonic() + self._pause
            raise


def connect(url: str, timeout: float) -> Database:
    """A pooled peewee Database for ``url``; no connection is opened yet.

    ``timeout`` (seconds) bounds every wait: SQLite's busy timeout, PostgreSQL's connect,
    statement and lock timeouts, and the wait for a free pooled connection.
    """
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise UnsupportedDatabaseUrl(
            f"database URL must start with sqlite:/// or postgresql://, not {scheme or url!r}"
        )
    if scheme != "sqlite":
        try:
            import psycopg2  # noqa: F401 - only to say what to install, before peewee fails
        except ImportError:
            raise UnsupportedDatabaseUrl(
                "a PostgreSQL database URL needs the driver: pip install 'smsbounce[postgres]'"
            ) from None
    ms = int(timeout * 1000)
    pool = {"max_connections": 64, "stale_timeout": 300, "timeout": timeout}
    if scheme == "sqlite":
        return connect_url(
            "sqlite+pool" + url[len(scheme) :],
            pragmas={
                # WAL lets polls read while a report commits; FULL fsyncs every commit, so an
                # acknowledged report survives a power cut.
                "journal_mode": "wal",
                "synchronous": "full",
                "busy_timeout": ms,
            },
            check_same_thread=False,
            **pool,
        )
    return _PostgresPool(
        **parse_url(url),
        connect_timeout=max(1, round(timeout)),
        # A statement can never outlast the settle lag (docs/spec.md §4, commit skew).
        options=f"-c statement_timeout={ms} -c lock_timeout={ms} "
        f"-c idle_in_transaction_session_timeout={ms}",
        pause=timeout,
        **pool,
    )


def is_sqlite(database: Database) -> bool:
    return database.__class__.__name__.endswith("SqliteDatabase")


@contextmanager
def session(database: Database, *, write: bool = False):
    """A pooled connection for one unit of work; a write runs in one transaction.

    SQLite writes take the write lock up front (BEGIN IMMEDIATE) instead of upgrading a read
    lock mid-transaction, which is what produces "database is locked" under concurrency.
    Raises DatabaseUnavailable for anything the database, not the caller, got wrong.
    """
    try:
        with database.connection_context():
            if not write:
                yield
            elif is_sqlite(database):
                with database.atomic(lock_type="IMMEDIATE"):
                    yield
            else:
                with database.atomic():
                    yield
    except UNAVAILABLE as exc:
        raise DatabaseUnavailable(str(exc).strip() or exc.__class__.__name__) from exc
