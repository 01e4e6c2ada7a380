"""Opening the database from a URL; every difference between SQLite and PostgreSQL lives here.

``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``postgresql://user@host:port/name``
(``postgres://`` too, as Cloud Foundry writes it) are accepted. Both are pooled: PostgreSQL's pool
pings a connection on checkout, so connections survive a server restart.
"""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlsplit

from peewee import Database, InterfaceError, OperationalError
from playhouse.db_url import connect as connect_url
from playhouse.pool import MaxConnectionsExceeded

SCHEMES = {"sqlite": "sqlite+pool", "postgres": "postgresql+pool", "postgresql": "postgresql+pool"}

# What a broken, locked, slow or missing database raises; answered with 503 so senders retry.
UNAVAILABLE = (OperationalError, InterfaceError, MaxConnectionsExceeded)


class DatabaseUnavailable(Exception):
    """The database did not answer in time or refused the work; nothing was written."""


class UnsupportedDatabaseUrl(ValueError):
    pass


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
    pooled_url = SCHEMES[scheme] + url[len(scheme) :]
    ms = int(timeout * 1000)
    pool = {"max_connections": 64, "stale_timeout": 300, "timeout": timeout}
    if scheme == "sqlite":
        return connect_url(
            pooled_url,
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
    return connect_url(
        pooled_url,
        connect_timeout=max(1, round(timeout)),
        # A statement can never outlast the settle lag (SPEC §4, commit skew).
        options=f"-c statement_timeout={ms} -c lock_timeout={ms} "
        f"-c idle_in_transaction_session_timeout={ms}",
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
