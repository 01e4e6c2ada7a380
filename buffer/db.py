"""Opening the database from a URL; every difference between SQLite and PostgreSQL lives here.

``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``postgresql://user@host:port/name``
(``postgres://`` too, as Cloud Foundry writes it) are accepted. Both are pooled: PostgreSQL's pool
pings a connection on checkout, so connections survive a server restart (or a PgBouncer restart).

PostgreSQL may sit behind PgBouncer in transaction pooling mode, where consecutive transactions
of one client run on different server connections: nothing here relies on session state. The
timeouts are set inside each transaction (``SET LOCAL``), never as startup options (PgBouncer
refuses those) or per session; psycopg2 binds parameters on the client, so no server-side
prepared statement is left behind on a connection another client gets next.
"""

from __future__ import annotations

import fcntl
import os
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


# The database's clock in the ingest time's unit, UTC microseconds since the epoch (docs/spec.md
# §4, one clock). clock_timestamp() is the moment it is evaluated, so an upsert stamps the time
# it runs, not the time its transaction began; statement_timestamp() is when a statement
# arrived, never later than the snapshot that statement reads.
_MICROS = "floor(extract(epoch from {}) * 1000000)::bigint"
NOW_US_SQL = _MICROS.format("clock_timestamp()")
STATEMENT_US_SQL = _MICROS.format("statement_timestamp()")


class _PostgresPool(PooledPostgresqlDatabase):
    """playhouse's pool that, after a connection attempt timed out, fails at once for a while.

    playhouse opens connections while holding the database lock, so when the server stops
    answering, every thread of a worker would wait one connect timeout after another; instead
    the threads queued behind a timed-out attempt answer 503 at once, and the next attempt is
    made when the pause is over. A refused connection fails fast anyway and pauses nothing, so
    the buffer is back the moment the database is.
    """

    def __init__(self, *args, pause: float, timeout_ms: int, **kwargs):
        self._pause = pause
        self._failing_until = 0.0
        # Sent with BEGIN in one round trip; SET LOCAL ends with the transaction, so a pooler
        # handing the server connection to another client hands over no setting of ours.
        self._begin_sql = "BEGIN; " + " ".join(
            f"SET LOCAL {name} = {timeout_ms};"
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        )
        super().__init__(*args, **kwargs)

    def begin(self, isolation_level=None):
        if isolation_level is not None:
            raise ValueError("the buffer runs every transaction at the server's default level")
        self.execute_sql(self._begin_sql)

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


def connect(url: str, timeout: float, pool_size: int = 8) -> Database:
    """A pooled peewee Database for ``url``; no connection is opened yet.

    ``timeout`` (seconds) bounds every wait: SQLite's busy timeout, PostgreSQL's connect,
    statement and lock timeouts, and the wait for a free pooled connection. ``pool_size`` is
    the most connections this process holds at once (the connection budget, docs/operations.md
    "Scale out"); a thread finding them all in use waits up to ``timeout``, then gets
    DatabaseUnavailable.
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
    pool = {"max_connections": pool_size, "stale_timeout": 300, "timeout": timeout}
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
        timeout_ms=ms,
        pause=timeout,
        **pool,
    )


class Budget:
    """What is left of one transaction's time: ``timeout`` from its first statement on, for
    all of its statements together. A batch of statements then holds its rows uncommitted no
    longer than a single statement may, which is what the settle lag is measured against
    (docs/spec.md §4).
    """

    def __init__(self, database: Database, timeout: float):
        self._postgres = not is_sqlite(database)
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
        if not self._postgres:
            return ""
        return f"SET LOCAL statement_timeout = {max(1, int(left * 1000))}; "

    def apply(self, database: Database) -> None:
        """``sql`` as a statement of its own, before one that cannot carry it."""
        prefix = self.sql()
        if prefix:
            database.execute_sql(prefix)


def is_sqlite(database: Database) -> bool:
    return database.__class__.__name__.endswith("SqliteDatabase")


def database_now_us(database: Database) -> int:
    """The PostgreSQL server's clock, UTC microseconds (call inside a ``session``)."""
    return database.execute_sql("SELECT " + NOW_US_SQL).fetchone()[0]


_turns: dict[str, tuple[int, int]] = {}  # database file -> (pid, descriptor of its lock file)


@contextmanager
def _writers_turn(database: Database):
    """Processes writing one SQLite file take turns on ``<file>-writers.lock`` first.

    SQLite's own busy handler polls a taken lock with sleeps growing to 100 ms, so under
    several workers a write waited up to that long after the lock was free (p99 at 8
    connections 245 ms, measured); a blocked ``flock`` wakes the moment the holder lets go.
    The holder is a process of ours inside a transaction its budget bounds; anything else that
    writes the file (the sqlite3 shell) is still waited for by the busy timeout.
    """
    path = database.database
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    fd = _turns.get(path)
    if fd is None or fd[0] != os.getpid():  # a forked child needs a lock of its own
        fd = _turns[path] = (os.getpid(), os.open(f"{path}-writers.lock", os.O_RDWR | os.O_CREAT))
    try:
        fcntl.flock(fd[1], fcntl.LOCK_EX)
    except OSError as exc:
        raise OperationalError(f"cannot take the writers' lock: {exc.strerror}") from exc
    try:
        yield
    finally:
        fcntl.flock(fd[1], fcntl.LOCK_UN)


@contextmanager
def session(database: Database, *, write: bool = False):
    """A pooled connection for one unit of work; a write runs in one transaction.

    SQLite writes take the write lock up front (BEGIN IMMEDIATE) instead of upgrading a read
    lock mid-transaction, which is what produces "database is locked" under concurrency.
    On PostgreSQL reads run in a transaction too: that is where their timeouts are set.
    Raises DatabaseUnavailable for anything the database, not the caller, got wrong.
    """
    try:
        with database.connection_context():
            if is_sqlite(database):
                if write:
                    with _writers_turn(database), database.atomic(lock_type="IMMEDIATE"):
                        yield
                else:
                    yield
            else:
                with database.atomic():
                    yield
    except UNAVAILABLE as exc:
        raise DatabaseUnavailable(str(exc).strip() or exc.__class__.__name__) from exc
