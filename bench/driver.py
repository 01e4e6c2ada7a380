"""The batch upsert's ways to send its rows, side by side: ``python -m bench.driver``.

The event loop's intake writes a batch of bounces in one round trip on psycopg 3 (client-side
binding, one simple query). Four ways of that query, each run on a scratch PostgreSQL
database, alternating, on a connection of its own:

- ``function``: what it sends — the timeouts and the call of the upsert's function, its rows
  one JSON parameter read as ``jsonb`` (``backends._Function``);
- ``statement``: the timeouts and the upsert's statement itself (``backends._Unnested``: what
  a role that may not create the function sends, and the threads' writes);
- ``with_read``: the statement plus the read of the rows it left alone (issue 22's first
  version);
- ``arrays``: that, with the rows as one text array per column (before issue 22).

It prints the client's CPU per batch (``time.process_time``), its backend's (``/proc``; the
server must run on this machine), and each way's ratio to ``function``.

    python -m bench.driver [--database-url postgresql://…] [--batches 2000] [--sizes 1,4,16]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from urllib.parse import urlsplit

from smsbounce.buffer.settings import Settings
from smsbounce.buffer.store import Store

from .cpu import process_cpu_s
from .databases import Unavailable, postgres_server_url, scratch

ROUNDS = 3
TIMEOUTS = "SET LOCAL statement_timeout = 5000; SET LOCAL lock_timeout = 5000"


def _as_arrays(json_sql: str, columns: int) -> str:
    """The same upsert reading one ``text[]`` parameter per column (``unnest``)."""
    start, end = json_sql.index("FROM (SELECT j->>0"), json_sql.index("ORDER BY c0")
    arrays = ", ".join(["%s::text[]"] * columns)
    names = ", ".join(f"c{i}" for i in range(columns))
    return f"{json_sql[:start]}FROM unnest({arrays}) AS u({names}) {json_sql[end:]}"


def _run(connection, query: str, params: list) -> None:
    cursor = connection.cursor()
    cursor.execute(query, params)
    while True:
        if cursor.description is not None:
            cursor.fetchall()
        if not cursor.nextset():
            return


def measure(url: str, batches: int, sizes: list[int]) -> list[dict]:
    import psycopg

    store = Store.open(Settings(database_url=url))
    statement = store.upsert.statement()
    store.make_upsert_function()
    store.close()
    columns = statement.columns
    read = statement.kept_sql
    function = statement.function
    ways = {
        "function": lambda rows: (
            f"{TIMEOUTS}; {function.call_sql}",
            [statement.rows_param(rows)],
        ),
        "statement": lambda rows: (f"{TIMEOUTS}; {statement.sql}", [statement.rows_param(rows)]),
        "with_read": lambda rows: (
            f"{TIMEOUTS}; {statement.sql}; {read}",
            [statement.rows_param(rows), [row[0] for row in rows]],
        ),
        "arrays": lambda rows: (
            f"{TIMEOUTS}; {_as_arrays(statement.sql, columns)}; {read}",
            [*[list(c) for c in zip(*rows, strict=True)][:columns], [row[0] for row in rows]],
        ),
    }
    ids = itertools.count()
    results = []
    for size in sizes:
        spent = {way: {"client": [], "server": []} for way in ways}
        for _ in range(ROUNDS):
            for way, build in ways.items():
                with psycopg.connect(
                    url,
                    autocommit=True,
                    prepare_threshold=None,
                    cursor_factory=psycopg.ClientCursor,
                ) as connection:
                    backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
                    for warm in (100, batches):
                        server, client = process_cpu_s(backend), time.process_time()
                        for _ in range(warm):
                            rows = [_row(next(ids)) for _ in range(size)]
                            _run(connection, *build(rows))
                        client = time.process_time() - client
                        server = process_cpu_s(backend) - server
                    spent[way]["client"].append(client / batches * 1e6)
                    spent[way]["server"].append(server / batches * 1e6)
        row = {"rows_per_batch": size}
        for way in ways:
            for side in ("client", "server"):
                row[f"{way}_{side}_us"] = round(statistics.median(spent[way][side]))
        for way in ways:
            for side in ("client", "server"):
                ours = row[f"function_{side}_us"]  # 0: too few batches for /proc's ticks
                ratio = row[f"{way}_{side}_us"] / ours if ours else None
                if way != "function":
                    row[f"{way}_vs_function_{side}"] = None if ratio is None else round(ratio, 2)
        results.append(row)
    return results


def _row(n: int) -> tuple:
    """A bounce's columns (``upsert.COLUMNS`` without the ingest time), as a DI report makes it."""
    return (
        f"driver-bench-{n}",
        "+49123****89",
        "0x4503",
        "Message 1 of the order at destination of +49123****89 is out of coverage",
        "Permanent",
        "2026-12-07T10:00:00Z",
        "di",
        "GET /api/v1/notifications/set?orderID=…&status=0x4503%20… (the raw request)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.driver", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL server (default as python -m bench)")
    parser.add_argument("--batches", type=int, default=2000, help="timed batches per round")
    parser.add_argument("--sizes", default="1,4,16", help="rows per batch, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    server = postgres_server_url(args.database_url)
    try:
        with scratch("postgres", server) as url:
            results = measure(url, args.batches, sizes)
    except Unavailable as exc:
        raise SystemExit(f"skipped: {exc}") from None
    host = urlsplit(server).hostname
    print(f"the batch's query four ways, psycopg 3 client-side binding, PostgreSQL on {host};")
    print(f"CPU µs per batch, medians of {ROUNDS} alternating rounds of {args.batches} batches")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
