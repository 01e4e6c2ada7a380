"""Opening the database from a URL, and the units of work and time budgets on it.

``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``postgresql://user@host:port/name``
(``postgres://`` too, as Cloud Foundry writes it) are accepted. Both are pooled: PostgreSQL's pool
pings a connection on checkout, so connections survive a server restart (or a PgBouncer restart).
What differs between the two lives in ``backends``; ``backend(database)`` says which one it is.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from peewee import Database, InterfaceError, OperationalError, SqliteDatabase
from playhouse.pool import MaxConnectionsExceeded

from .backends import PostgreSQL, SQLite, UnsupportedDatabaseUrl
from .errors import DatabaseUnavailable

SQLITE, POSTGRESQL = SQLite(), PostgreSQL()
BACKENDS = {"sqlite": SQLITE, "postgres": POSTGRESQL, "postgresql": POSTGRESQL}

# What a broken, locked, slow or missing database raises; answered with 503 so senders retry.
UNAVAILABLE = (OperationalError, InterfaceError, MaxConnectionsExceeded)


def connect(url: str, timeout: float, pool_size: int = 8) -> Database:
    """A pooled peewee Database for ``url``; no connection is opened yet.

    ``timeout`` (seconds) bounds every wait: SQLite's busy timeout, PostgreSQL's connect,
    statement and lock timeouts, and the wait for a free pooled connection. ``pool_size`` is
    the most connections this process holds at once (the connection budget, docs/operations.md
    "Scale out"); a thread finding them all in use waits up to ``timeout``, then gets
    DatabaseUnavailable.
    """
    scheme = urlsplit(url).scheme
    if scheme not in BACKENDS:
        raise UnsupportedDatabaseUrl(
            f"database URL must start with sqlite:/// or postgresql://, not {scheme or url!r}"
        )
    pool = {"max_connections": pool_size, "stale_timeout": 300, "timeout": timeout}
    return BACKENDS[scheme].connect(url, timeout, pool)


def backend(database: Database) -> SQLite | PostgreSQL:
    return SQLITE if isinstance(database, SqliteDatabase) else POSTGRESQL


def is_sqlite(database: Database) -> bool:
    return backend(database) is SQLITE


class Budget:
    """What is left of one transaction's time: ``timeout`` from its first statement on, for
    all of its statements together. A batch of statements then holds its rows uncommitted no
    longer than a single statement may, which is what the settle lag is measured against
    (docs/spec.md §4).
    """

    def __init__(self, database: Database, timeout: float):
        self._cap = backend(database).cap
        self._timeout = timeout
        self._until: float | None = None

    def sql(self) -> str:
        """SQL to send in front of the next statement, in the same round trip.

        The first statement needs none: the transaction's own statement timeout is the whole
        budget. Each later one, on PostgreSQL, is capped at the time left (``SET LOCAL``:
        nothing outlives the transaction); on SQLite, where a statement run under the write
        lock waits for nothing but the disk, the time left is only checked. Raises
        DatabaseUnavailable once the time is up.
        """
        now = time.monotonic()
        if self._until is None:
            self._until = now + self._timeout
            return ""
        left = self._until - now
        if left <= 0:
            raise DatabaseUnavailable("the transaction ran out of time (SMSBOUNCE_DB_TIMEOUT)")
        return self._cap(left)

    def apply(self, database: Database) -> None:
        """``sql`` as a statement of its own, before one that cannot carry it."""
        prefix = self.sql()
        if prefix:
            database.execute_sql(prefix)


def database_now_us(database: Database) -> int:
    """The database server's clock, UTC microseconds (call inside a ``session``; PostgreSQL:
    SQLite has no clock of its own)."""
    return database.execute_sql("SELECT " + backend(database).clock_sql).fetchone()[0]


@contextmanager
def session(database: Database, *, write: bool = False):
    """A pooled connection for one unit of work; a write runs in one transaction (on
    PostgreSQL a read too: that is where its timeouts are set).

    Raises DatabaseUnavailable for anything the database, not the caller, got wrong.
    """
    try:
        with database.connection_context(), backend(database).transaction(database, write):
            yield
    except UNAVAILABLE as exc:
        problem = str(exc).strip() or exc.__class__.__name__
        # Every database error names the database: an operator may be looking at another one.
        raise DatabaseUnavailable(f"{problem} ({where(database)})") from exc


def sqlite_file(database: Database) -> str | None:
    """The absolute path of a SQLite database's file; None for PostgreSQL or in memory."""
    if not is_sqlite(database) or database.database in ("", ":memory:"):
        return None
    return os.path.abspath(database.database)


def where(database: Database) -> str:
    """``SQLite file /abs/path.db`` or ``PostgreSQL postgresql://user@host:port/name`` (no
    password): what every start line and database error names."""
    return backend(database).where(database)
