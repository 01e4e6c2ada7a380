"""The request path in-process: CPU per request of ``/healthz`` against a DI report (``/set``).

``python -m bench.request_path [--db sqlite|postgres|both] [--requests N] [--rounds R]
[--profile]`` calls the buffer's WSGI app directly — no HTTP server, no sockets, one thread — so
what is measured is the app's own work: Bottle, the access log line (the JSON formatter, as
``smsbounce serve`` configures it, writing to /dev/null), the metrics (multiprocess mode, as
under ``serve``), the DI mapping and the store. Three requests are timed:

- ``healthz``: the trivial route;
- ``delivered``: a DI success report (``/set``, acknowledged, never stored): the ingest's
  request path without the database;
- ``ingest``: a DI bounce (``/set``), a unique one per request, stored.

Rounds alternate the three, and the best round of each is printed (on a shared machine other
work only ever adds to a round), with
``healthz_vs_ingest`` = CPU of /healthz ÷ CPU of a stored /set: the ceiling the request path
puts on the HTTP benchmark's ``ingest_vs_trivial`` (issue 12's target: 0.6). CPU is this
process's (``time.process_time``): the PostgreSQL server's work and SQLite's fsync wait are not
in it, the wall figure has them. ``--profile`` prints where a stored /set's time goes (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid

from .databases import Unavailable, postgres_server_url, scratch
from .load import set_path

SECRETS = ("bench-password-not-secret",)


def _environ(path_and_query: str) -> dict:
    """What gunicorn hands the app for ``GET path_and_query`` from wrk (Host only)."""
    path, _, query = path_and_query.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": path_and_query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8080",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _call(app, path_and_query: str) -> str:
    seen = []

    def start_response(status, headers, exc_info=None):
        seen.append(status)

    body = app(_environ(path_and_query), start_response)
    try:
        for _ in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return seen[0]


def _build_app(url: str):
    # Imported here: PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is.
    from smsbounce.buffer.app import create_app
    from smsbounce.buffer.settings import Settings
    from smsbounce.buffer.store import Store

    settings = Settings(
        database_url=url,
        api_password=SECRETS[0],
        metrics_dir=os.environ["PROMETHEUS_MULTIPROC_DIR"],
        threads=1,
    )
    store = Store.open(settings)
    return create_app(settings, store), store


def _quiet_json_logs(sink) -> None:
    """The log setup of ``smsbounce serve`` (``logs.configure``), writing to ``sink``."""
    from smsbounce.buffer import logs

    stderr, sys.stderr = sys.stderr, sink  # what configure's handler writes to
    try:
        logs.configure(secrets=SECRETS)
    finally:
        sys.stderr = stderr


def _timed(app, paths: list[str]) -> tuple[float, float]:
    """(CPU µs, wall µs) per request over ``paths``; every answer must be a 200."""
    cpu, wall = time.process_time(), time.perf_counter()
    for path in paths:
        status = _call(app, path)
        if not status.startswith("200"):
            raise RuntimeError(f"{path} answered {status}")
    count = len(paths)
    return (
        (time.process_time() - cpu) * 1e6 / count,
        (time.perf_counter() - wall) * 1e6 / count,
    )


def measure(url: str, requests: int, rounds: int, profile: bool = False) -> dict:
    app, store = _build_app(url)
    run_id = uuid.uuid4().hex[:8]
    serial = iter(range(10**9))

    def set_paths(n: int) -> list[str]:
        return [set_path(run_id, next(serial)) for _ in range(n)]

    def delivered_paths(n: int) -> list[str]:
        # The same report with DI's success code: mapped, counted and logged, never stored.
        return [path.replace("status=0x4503", "status=0x451A") for path in set_paths(n)]

    routes = {
        "healthz": lambda n: ["/healthz"] * n,
        "delivered": delivered_paths,
        "ingest": set_paths,
    }
    for paths in routes.values():  # warm-up: imports, the pool, caches
        _timed(app, paths(requests // 4 or 1))
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in routes}
    for _ in range(rounds):
        for name, paths in routes.items():
            timings[name].append(_timed(app, paths(requests)))
    result = {}
    for name, rounds_of in timings.items():
        result[f"{name}_cpu_us"] = round(min(c for c, _ in rounds_of), 1)
    for name, rounds_of in timings.items():
        result[f"{name}_wall_us"] = round(min(w for _, w in rounds_of), 1)
    result["requests"], result["rounds"] = requests, rounds
    result["healthz_vs_ingest"] = round(result["healthz_cpu_us"] / result["ingest_cpu_us"], 3)
    if profile:
        profiler = cProfile.Profile()
        paths = set_paths(requests)
        profiler.enable()
        _timed(app, paths)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        result["profile"] = text.getvalue()
    store.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_path", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--database-url", help="PostgreSQL server (default: bench/databases)")
    parser.add_argument("--requests", type=int, default=500, help="per round and route")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--profile", action="store_true", help="cProfile one round of /set")
    args = parser.parse_args(argv)
    metrics_dir = tempfile.mkdtemp(prefix="smsbounce-bench-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    pg_server = postgres_server_url(args.database_url)
    with open(os.devnull, "w") as sink:
        _quiet_json_logs(sink)
        for kind in kinds:
            try:
                with scratch(kind, pg_server) as url:
                    result = measure(url, args.requests, args.rounds, args.profile)
            except Unavailable as exc:
                print(json.dumps({"database": kind, "skipped": str(exc)}))
                continue
            profile = result.pop("profile", None)
            print(json.dumps({"database": kind, **result}))
            if profile:
                print(profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
