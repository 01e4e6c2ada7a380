"""The article's own design as a peer (issue 12): Node + Express + Sequelize, measured against
``smsbounce serve`` in the same run, on the same PostgreSQL server, under the same load.

Both servers run side by side, each on a scratch database of its own; rounds alternate between
them (peer, ours, ours, peer, …) so that whatever else the machine does hits both alike. The load
is the peer's own wrk script (``bench-set.lua``: a unique orderID per request) for both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import cpu, load
from .databases import Unavailable, count_rows, scratch
from .rss import rss_mb
from .server import START_SECONDS, Buffer, Process, free_port, wait_until_answering

ROOT = Path(__file__).resolve().parent.parent
# Where the issue keeps it: next to the clone, outside it (it is never shipped).
DEFAULT_PEER = ROOT.parent / "shared" / "peers" / "article-node"
PEER_VARIABLE = "SMSBOUNCE_BENCH_PEER"
LUA = Path(__file__).with_name("peer.lua")
# Issue 22: twice the article's design's rate, for at most half its CPU per stored report.
TARGET_RATIO = 2.0
TARGET_CPU_RATIO = 2.0
THREADS, CONNECTIONS = 1, 8  # the load: wrk -t1 -c8
NODE_MAJOR = 20  # the peer's package.json: "engines": {"node": ">=20"}


def locate(explicit: str | None) -> Path:
    """The peer's source folder: ``--peer``, else $SMSBOUNCE_BENCH_PEER, else next to the clone."""
    folder = Path(explicit or os.environ.get(PEER_VARIABLE) or DEFAULT_PEER)
    if not (folder / "server.js").is_file() or not (folder / "bench-set.lua").is_file():
        raise Unavailable(
            f"no peer at {folder} (server.js and bench-set.lua): pass --peer PATH or set "
            f"{PEER_VARIABLE} to the article-node folder"
        )
    return folder


def _check_tools() -> None:
    if not load.have_wrk():
        raise Unavailable("wrk is not installed (the peer is measured with wrk only): " + _WRK)
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise Unavailable(
                f"{tool} is not on PATH: install Node.js {NODE_MAJOR} or later with npm "
                "(e.g. sudo apt-get install -y nodejs npm)"
            )
    version = subprocess.run(  # noqa: S603 (a fixed command)
        [shutil.which("node"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < NODE_MAJOR:
        raise Unavailable(f"node {version or '?'} is too old: the peer needs {NODE_MAJOR}+")


_WRK = "sudo apt-get install -y wrk (Debian/Ubuntu), brew install wrk (macOS)"


@contextlib.contextmanager
def installed(source: Path) -> Iterator[Path]:
    """A scratch copy of the peer with its locked dependencies (``npm ci``), removed afterwards.

    The source folder may be read-only (it is on CI machines), so nothing is written there.
    """
    directory = Path(tempfile.mkdtemp(prefix="smsbounce-bench-peer-"))
    try:
        folder = directory / "article-node"
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns("node_modules"))
        for path in (folder, *folder.rglob("*")):
            path.chmod(path.stat().st_mode | 0o200)
        finished = subprocess.run(  # noqa: S603 (a fixed command)
            [shutil.which("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if finished.returncode:
            tail = (finished.stderr or finished.stdout).strip().splitlines()[-5:]
            raise Unavailable("npm ci failed (is the npm registry reachable?): " + " / ".join(tail))
        yield folder
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class Peer(Process):
    """``node server.js`` of the installed peer on ``database_url`` (PostgreSQL)."""

    def __init__(self, folder: Path, database_url: str):
        port = free_port()
        env = {
            **os.environ,
            "PORT": str(port),
            # Sequelize takes the dialect from the URL's scheme.
            "DATABASE_URL": urlunsplit(urlsplit(database_url)._replace(scheme="postgres")),
        }
        super().__init__([shutil.which("node"), "server.js"], env, cwd=str(folder))
        deadline = time.monotonic() + START_SECONDS
        self.wait_for("listening on port", deadline)
        self.url = f"http://127.0.0.1:{port}"
        wait_until_answering(self.url, "/", deadline)
        self.database_url = database_url


def _admin(pg_server: str):
    import psycopg

    # autocommit: each look at pg_stat_activity sees the present
    return psycopg.connect(pg_server, autocommit=True)


def _peer_rows(database_url: str) -> int:
    import psycopg

    connection = psycopg.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "Notifications"')
            return cursor.fetchone()[0]
    finally:
        connection.close()


def measure(pg_server: str, source: Path, workers: int, rounds: int, seconds: float) -> dict:
    """``rounds`` alternating rounds of ``seconds`` each; raises Unavailable when it cannot run."""
    _check_tools()
    env = {"BENCH_PEER_SCRIPT": str(source / "bench-set.lua")}

    def drive(url: str, duration: float) -> dict:
        return load.wrk(url, LUA, [], duration, CONNECTIONS, THREADS, env)

    def timed_round(server, database_url: str, admin) -> dict:
        database = urlsplit(database_url).path.lstrip("/")
        before = cpu.snapshot(cpu.tree(server.process.pid))
        before_db = cpu.snapshot(cpu.backends(admin, database))
        result = drive(server.url, seconds)
        after = cpu.snapshot(cpu.tree(server.process.pid))
        after_db = cpu.snapshot(cpu.backends(admin, database))
        stored = max(1, result["requests"] - result["non2xx"])
        result["cpu_us"] = cpu.spent(before, after) / stored * 1e6
        # None when the server's backends are not processes of this machine (a remote server).
        result["db_cpu_us"] = cpu.spent(before_db, after_db) / stored * 1e6 if after_db else None
        return result

    with (
        installed(source) as folder,
        scratch("postgres", pg_server) as ours_url,
        scratch("postgres", pg_server, tables=False) as peer_url,
        Peer(folder, peer_url) as peer,
        Buffer(ours_url, workers) as ours,
    ):
        servers = {"peer": (peer, peer_url), "ours": (ours, ours_url)}
        # Warm-up, one round each, not measured: V8 compiles the peer's hot paths and Sequelize
        # grows its pool from 0 over seconds (its first 8 s ran at 30-60 % of its later rounds).
        for server, _ in servers.values():
            drive(server.url, seconds)
        runs: dict[str, list[dict]] = {"peer": [], "ours": []}
        with contextlib.closing(_admin(pg_server)) as admin:
            for number in range(rounds):
                order = ("peer", "ours") if number % 2 == 0 else ("ours", "peer")
                for name in order:
                    runs[name].append(timed_round(*servers[name], admin))
        peer_rss = rss_mb(peer.process.pid) or 0.0
        ours_rss = max((rss_mb(pid) or 0.0 for pid in ours.worker_pids()), default=0.0)
        stored = {"peer": _peer_rows(peer_url), "ours": count_rows(ours_url)}
    figures = {name: _summary(results) for name, results in runs.items()}
    ratio = figures["ours"]["per_s"] / figures["peer"]["per_s"]
    ours_cpu, peer_cpu = (_total_cpu(figures[name]) for name in ("ours", "peer"))
    return {
        "per_s": figures["ours"]["per_s"],
        "peer_per_s": figures["peer"]["per_s"],
        "ours_vs_peer": round(ratio, 2),
        "round_ratios": [
            round(o["per_s"] / p["per_s"], 2)
            for o, p in zip(runs["ours"], runs["peer"], strict=True)
        ],
        "rounds_per_s": figures["ours"]["rounds_per_s"],
        "peer_rounds_per_s": figures["peer"]["rounds_per_s"],
        "p99_ms": figures["ours"]["p99_ms"],
        "peer_p99_ms": figures["peer"]["p99_ms"],
        "cpu_us": figures["ours"]["cpu_us"],
        "peer_cpu_us": figures["peer"]["cpu_us"],
        "db_cpu_us": figures["ours"]["db_cpu_us"],
        "peer_db_cpu_us": figures["peer"]["db_cpu_us"],
        "ours_vs_peer_cpu": round(peer_cpu / ours_cpu, 2) if ours_cpu and peer_cpu else None,
        "non2xx": figures["ours"]["non2xx"],
        "peer_non2xx": figures["peer"]["non2xx"],
        "errors": figures["ours"]["errors"],
        "peer_errors": figures["peer"]["errors"],
        "stored_rows": stored["ours"],
        "peer_stored_rows": stored["peer"],
        "rss_mb": round(ours_rss, 1),
        "peer_rss_mb": round(peer_rss, 1),
        "rounds": rounds,
        "round_s": seconds,
        "workers": workers,
        "load": f"wrk -t{THREADS} -c{CONNECTIONS}, the peer's bench-set.lua",
        "target_met": ratio >= TARGET_RATIO,
        "cpu_target_met": bool(ours_cpu and peer_cpu and peer_cpu / ours_cpu >= TARGET_CPU_RATIO),
    }


def _summary(results: list[dict]) -> dict:
    """Medians over the rounds (robust to one round the machine starved), counts summed."""
    return {
        "per_s": round(statistics.median(r["per_s"] for r in results), 1),
        "rounds_per_s": [round(r["per_s"], 1) for r in results],
        "p99_ms": round(statistics.median(r["p99_ms"] for r in results), 2),
        "cpu_us": round(statistics.median(r["cpu_us"] for r in results)),
        "db_cpu_us": (
            round(statistics.median(r["db_cpu_us"] for r in results))
            if all(r["db_cpu_us"] is not None for r in results)
            else None
        ),
        "non2xx": sum(r["non2xx"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def _total_cpu(figures: dict) -> float | None:
    """CPU per stored report of a server and its database backends (None if unknown)."""
    if figures["db_cpu_us"] is None:
        return None
    return figures["cpu_us"] + figures["db_cpu_us"]
