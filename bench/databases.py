"""Scratch databases for a run, and the bulk load of the pull benchmark.

SQLite: a fresh file in a temporary directory. PostgreSQL: a database of the run's own on the
server named by ``--database-url`` (or SMSBOUNCE_BENCH_PG_URL / SMSBOUNCE_TEST_PG_URL), created
at start and dropped at the end, so a shared server never sees the bench's rows.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from smsbounce.buffer.settings import Settings
from smsbounce.buffer.store import Store

PG_VARIABLES = ("SMSBOUNCE_BENCH_PG_URL", "SMSBOUNCE_TEST_PG_URL")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


class Unavailable(Exception):
    """This database cannot be benchmarked here; the message says why and what to do."""


def postgres_server_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    for name in PG_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return DEFAULT_PG_URL


@contextlib.contextmanager
def scratch(kind: str, pg_server: str, tables: bool = True) -> Iterator[str]:
    """A fresh database URL of ``kind`` (sqlite | postgres), removed afterwards.

    With ``tables`` it holds the buffer's empty tables; without, nothing (for the peer, which
    creates its own).
    """
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="smsbounce-bench-")
        try:
            url = f"sqlite:///{directory}/bench.db"
            yield _created(url) if tables else url
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    try:
        import psycopg
    except ImportError:
        raise Unavailable("psycopg is missing: pip install -e '.[postgres]'") from None
    try:
        admin = psycopg.connect(pg_server, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        raise Unavailable(
            f"cannot connect to {pg_server} ({str(exc).strip()}); pass --database-url "
            "postgresql://user@host:port/db of a server where this user may CREATE DATABASE"
        ) from None
    name = f"smsbounce_bench_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(pg_server)._replace(path="/" + name))
        yield _created(url) if tables else url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _created(url: str) -> str:
    store = Store.open(Settings(database_url=url))
    store.create_tables()
    store.close()
    return url


COLUMNS = (
    '"messageId"',
    "recipient",
    '"statusCode"',
    '"statusText"',
    "type",
    "timestamp",
    '"ingestedAt"',
    "provider",
    '"rawReport"',
)


def rows(count: int, first_micros: int, step_micros: int) -> Iterator[tuple]:
    """``count`` realistic bounces with ingest times ``first_micros + i * step_micros``."""
    for i in range(count):
        message = f"pull-{i:09d}"
        text = (
            f"Message 1 of the order {message} at destination of +4915112345678 is out of coverage"
        )
        raw = (
            f'{{"orderid": "{message}", "time": "101500", "date": "01022026", '
            f'"msisdn": "+4915112345678", "status": "0x4503 {text}"}}'
        )
        yield (
            message,
            "+4915112345678",
            "0x4503",
            text,
            "Permanent",
            "20260201101500",
            first_micros + i * step_micros,
            "di",
            raw,
        )


def bulk_load(url: str, count: int, first_micros: int, step_micros: int) -> None:
    """Insert ``count`` bounces in one transaction (COPY on PostgreSQL), then ANALYZE."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        # Constant column names only, nothing from outside.
        insert = "INSERT INTO notifications ({}) VALUES ({})".format(  # noqa: S608
            ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))
        )
        with connection:
            connection.executemany(insert, rows(count, first_micros, step_micros))
        connection.execute("ANALYZE")
        connection.close()
        return
    import psycopg

    connection = psycopg.connect(url, autocommit=True)
    with connection.transaction(), connection.cursor() as cursor:
        batch = 100_000
        source = rows(count, first_micros, step_micros)
        for _ in range(0, count, batch):
            buffer = io.StringIO()
            for _, row in zip(range(batch), source, strict=False):
                buffer.write("\t".join(_copy_text(value) for value in row) + "\n")
            with cursor.copy(f"COPY notifications ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
    with connection.cursor() as cursor:
        # Sets the visibility map too, as autovacuum would on a live table.
        cursor.execute("VACUUM ANALYZE notifications")
    connection.close()


def _copy_text(value) -> str:
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def count_rows(url: str) -> int:
    store = Store.open(Settings(database_url=url))
    try:
        with store.database.connection_context():
            return store.database.execute_sql("SELECT count(*) FROM notifications").fetchone()[0]
    finally:
        store.close()
