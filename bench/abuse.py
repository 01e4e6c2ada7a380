"""``python -m bench.abuse [--duration S] [--database-url URL]`` — what an anonymous client can do
to ``smsbounce serve`` (issue 14), measured on each database:

- **methods**: ``--duration`` seconds of requests with made-up HTTP methods from ``--connections``
  keep-alive connections; ``/metrics`` before and after: series, size, scrape time, and the
  workers' resident memory. Bounded metrics keep the series count flat.
- **guessing**: ``--duration`` seconds of wrong basic-auth passwords from one client; guesses the
  buffer actually checked per second (answered 401) against those it refused unchecked (429),
  and whether the right password, from another client, still gets in meanwhile.

The third figure of the issue, the 5xx count over the abuse suite, is printed by the suite
itself: ``pytest tests/buffer/abuse``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import random
import string
import sys
import threading
import time
from urllib.parse import urlsplit

from .databases import Unavailable, postgres_server_url, scratch
from .rss import rss_mb
from .server import Buffer

DATABASES = ("sqlite", "postgres")


def _connection(url: str, source: str | None = None) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=30, source_address=(source, 0) if source else None
    )


def _hammer(url: str, seconds: float, connections: int, request) -> list[int]:
    """Call ``request(connection, n)`` from ``connections`` threads for ``seconds``; statuses."""
    statuses: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 (made-up methods, not secrets)
        connection, mine = _connection(url), []
        while time.monotonic() < deadline:
            try:
                mine.append(request(connection, rng))
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = _connection(url)
        connection.close()
        with lock:
            statuses.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _scrape(buffer: Buffer) -> dict:
    connection = _connection(buffer.url)
    token = base64.b64encode(":".join(buffer.auth).encode()).decode()
    started = time.perf_counter()
    connection.request("GET", "/metrics", headers={"Authorization": "Basic " + token})
    response = connection.getresponse()
    body = response.read()
    seconds = time.perf_counter() - started
    connection.close()
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {"series": series, "bytes": len(body), "scrape_ms": round(seconds * 1000, 1)}


def _workers_rss(buffer: Buffer) -> float:
    return round(sum(rss_mb(pid) or 0 for pid in buffer.worker_pids()), 1)


def made_up_methods(buffer: Buffer, seconds: float, connections: int) -> dict:
    def request(connection, rng):
        method = "".join(rng.choices(string.ascii_uppercase, k=10))
        connection.request(method, "/healthz")
        response = connection.getresponse()
        response.read()
        return response.status

    before, rss_before = _scrape(buffer), _workers_rss(buffer)
    statuses = _hammer(buffer.url, seconds, connections, request)
    after = _scrape(buffer)
    return {
        "requests": len(statuses),
        "series_before": before["series"],
        "series_after": after["series"],
        "metrics_bytes_before": before["bytes"],
        "metrics_bytes_after": after["bytes"],
        "scrape_ms_before": before["scrape_ms"],
        "scrape_ms_after": after["scrape_ms"],
        "workers_rss_mb_before": rss_before,
        "workers_rss_mb_after": _workers_rss(buffer),
        "5xx": sum(1 for s in statuses if s >= 500),
    }


def guessing(buffer: Buffer, seconds: float, connections: int) -> dict:
    user = buffer.auth[0]

    def request(connection, rng):
        guess = "".join(rng.choices(string.ascii_letters, k=12))
        token = base64.b64encode(f"{user}:{guess}".encode()).decode()
        connection.request(
            "GET", "/api/v1/notifications/get", headers={"Authorization": "Basic " + token}
        )
        response = connection.getresponse()
        response.read()
        return response.status

    # The right user meanwhile, from another address (any 127.x address is loopback on Linux).
    right: list[int] = []
    stop = threading.Event()

    def marketing() -> None:
        token = base64.b64encode(":".join(buffer.auth).encode()).decode()
        while not stop.wait(0.5):
            connection = _connection(buffer.url, source="127.0.0.2")
            try:
                connection.request(
                    "GET", "/api/v1/notifications/get", headers={"Authorization": "Basic " + token}
                )
                response = connection.getresponse()
                response.read()
                right.append(response.status)
            except (OSError, http.client.HTTPException):
                right.append(0)
            finally:
                connection.close()

    poller = threading.Thread(target=marketing)
    poller.start()
    statuses = _hammer(buffer.url, seconds, connections, request)
    stop.set()
    poller.join()
    return {
        "answers_per_s": round(len(statuses) / seconds, 1),
        "checked_per_s": round(sum(1 for s in statuses if s == 401) / seconds, 1),
        "refused_429": sum(1 for s in statuses if s == 429),
        "other": sorted({s for s in statuses if s not in (401, 429)}),
        "right_user_answers": {str(s): right.count(s) for s in sorted(set(right))},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.abuse", description=__doc__)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (20)")
    parser.add_argument("--connections", type=int, default=8, help="client connections (8)")
    parser.add_argument("--workers", type=int, default=2, help="server workers (2)")
    parser.add_argument("--database-url", help="as for python -m bench")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    url = args.database_url or ""
    kinds = ("sqlite",) if url.startswith("sqlite:") else DATABASES
    pg_server = postgres_server_url(None if url.startswith("sqlite:") else url or None)
    figures: dict = {}
    for kind in kinds:
        try:
            with scratch(kind, pg_server) as database_url:
                print(f"  {kind} …", file=sys.stderr, flush=True)
                with Buffer(database_url, args.workers) as buffer:
                    figures[kind] = {
                        "methods": made_up_methods(buffer, args.duration, args.connections),
                        "guessing": guessing(buffer, args.duration, args.connections),
                    }
        except Unavailable as exc:
            figures[kind] = {"skipped": str(exc)}
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
