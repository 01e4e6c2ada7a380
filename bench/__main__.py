"""``python -m bench [ingest|pull|peer|slow|all] [--database-url URL] [--workers N]
[--duration S] [--quick] [--json PATH]`` — see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone

from . import ingest, load, peer, pull, slow
from .databases import Unavailable, postgres_server_url, scratch

DATABASES = ("sqlite", "postgres")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Ratio benchmarks of the smsbounce buffer."
    )
    parser.add_argument(
        "what", nargs="?", choices=("ingest", "pull", "peer", "slow", "all"), default="all"
    )
    parser.add_argument(
        "--database-url",
        help="postgresql://… server for the PostgreSQL half (a scratch database is created on "
        "it and dropped; default SMSBOUNCE_BENCH_PG_URL, SMSBOUNCE_TEST_PG_URL, else "
        "postgresql://postgres@127.0.0.1:5432/test). sqlite:///… runs the SQLite half only.",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server workers (default 1, as serve's)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        help="seconds per load phase (default 15; 5 with --quick); also per peer round (default "
        "8; 5 with --quick) and per slow-client mode (default 15; 8 with --quick)",
    )
    parser.add_argument("--connections", type=int, default=16, help="open connections (16)")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="bounces in the pull window (1,000,000)"
    )
    parser.add_argument("--repeats", type=int, help="timed pulls per page (default 15; 5 quick)")
    parser.add_argument(
        "--peer",
        metavar="PATH",
        help="the article-node peer's folder (default $SMSBOUNCE_BENCH_PEER, else "
        "../shared/peers/article-node next to the clone)",
    )
    parser.add_argument("--rounds", type=int, help="alternating peer rounds (default 3; 2 quick)")
    parser.add_argument(
        "--slow-sockets", type=int, default=256, help="slow or idle sockets per mode (256)"
    )
    parser.add_argument("--quick", action="store_true", help="short phases: ~4 minutes for all")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    args.round_s = args.duration or (5.0 if args.quick else 8.0)
    args.slow_s = args.duration or (8.0 if args.quick else 15.0)
    args.duration = args.duration or (5.0 if args.quick else 15.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.repeats = args.repeats or (5 if args.quick else 15)
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be between 1 and 64")
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be between 1 and 600 seconds")
    if not 1 <= args.rounds <= 50:
        parser.error("--rounds must be between 1 and 50")
    if not 1 <= args.slow_sockets <= 10_000:
        parser.error("--slow-sockets must be between 1 and 10,000")
    if args.rows < 2 * pull.PAGE_SIZE or args.rows % pull.PAGE_SIZE:
        parser.error(f"--rows must be a multiple of {pull.PAGE_SIZE}, at least two pages")
    url = args.database_url or ""
    args.databases = ("sqlite",) if url.startswith("sqlite:") else DATABASES
    args.pg_server = postgres_server_url(None if url.startswith("sqlite:") else url or None)
    return args


def _each_database(args, work) -> dict:
    results = {}
    for kind in args.databases:
        try:
            with scratch(kind, args.pg_server) as url:
                results[kind] = work(url)
        except Unavailable as exc:
            results[kind] = {"skipped": str(exc)}
            print(f"  {kind}: skipped — {exc}", file=sys.stderr)
    return results


def run_ingest(args) -> dict:
    def work(url):
        print(f"  ingest on {url.split(':')[0]} …", file=sys.stderr, flush=True)
        return ingest.measure(url, args.workers, args.duration, args.connections)

    return _each_database(args, work)


def run_pull(args) -> dict:
    def work(url):
        started = time.monotonic()
        print(f"  loading {args.rows:,} bounces into {url.split(':')[0]} …", file=sys.stderr)
        window = pull.load(url, args.rows)
        loaded = time.monotonic() - started
        walk = 20 if args.quick else 100
        result = pull.measure(url, window, args.rows, args.workers, args.repeats, walk)
        return {**result, "load_s": round(loaded, 1)}

    results = _each_database(args, work)
    # The production database's figures at the top level; each database's below its name.
    primary = next((k for k in ("postgres", "sqlite") if "first_ms" in results.get(k, {})), None)
    top = {"database": primary, **results[primary]} if primary else {}
    return {**top, **results}


def run_peer(args) -> dict:
    if "postgres" not in args.databases:
        return {"skipped": "the peer runs on PostgreSQL only; pass a postgresql:// --database-url"}
    print("  peer (article-node) and ours on postgres …", file=sys.stderr, flush=True)
    try:
        source = peer.locate(args.peer)
        return peer.measure(args.pg_server, source, args.workers, args.rounds, args.round_s)
    except Unavailable as exc:
        print(f"  peer: skipped — {exc}", file=sys.stderr)
        return {"skipped": str(exc)}


def run_slow(args) -> dict:
    # The production database if it can be had: the figure is about the HTTP front, not SQLite.
    for kind in sorted(args.databases, key=lambda k: k != "postgres"):
        try:
            with scratch(kind, args.pg_server) as url:
                print(f"  slow clients on {kind} …", file=sys.stderr, flush=True)
                modes = slow.measure(url, args.workers, args.slow_sockets, args.slow_s)
                return {"database": kind, "seconds_per_mode": args.slow_s, **modes}
        except Unavailable as exc:
            print(f"  slow clients: {kind} skipped — {exc}", file=sys.stderr)
    return {"skipped": "no database available"}


INGEST_COLUMNS = (
    "per_s",
    "trivial_per_s",
    "ingest_vs_trivial",
    "p50_ms",
    "p99_ms",
    "p99_8c_ms",
    "rss_mb",
    "rss_growth_mb",
    "non2xx",
    "target_met",
    "p99_target_met",
)
PULL_COLUMNS = (
    "rows",
    "first_ms",
    "deep_ms",
    "deep_vs_first",
    "deep_cold_ms",
    "walk_ms",
    "rss_mb",
    "rss_growth_mb",
    "target_met",
)
PEER_COLUMNS = ("per_s", "rounds_per_s", "p99_ms", "cpu_us", "db_cpu_us", "rss_mb", "non2xx")
SLOW_COLUMNS = (
    "sockets",
    "fewest_open",
    "closed_by_server",
    "probes",
    "within_1s_pct",
    "p50_ms",
    "p99_ms",
    "failed",
    "target_met",
)


def table(title: str, results: dict, columns: tuple[str, ...]) -> str:
    """One row per database of ``results`` ({database: figures})."""
    return grid(title, "database", [(k, results[k]) for k in DATABASES if k in results], columns)


def grid(title: str, first: str, rows: list[tuple[str, dict]], columns: tuple[str, ...]) -> str:
    skipped = [f"  {label}: skipped — {f['skipped']}" for label, f in rows if "skipped" in f]
    if len(skipped) == len(rows):
        return "\n".join([title, *skipped])
    header = [first, *columns]
    lines = [[label, *(_cell(figures, c) for c in columns)] for label, figures in rows]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    out = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in lines]
    return "\n".join(out + skipped)


def peer_table(title: str, result: dict) -> str:
    """One row per server, then the ratios."""
    if "skipped" in result:
        return grid(title, "server", [("peer", result)], PEER_COLUMNS)
    rows = [
        (name, {c: result.get(prefix + c) for c in PEER_COLUMNS})
        for name, prefix in (("ours", ""), ("peer", "peer_"))
    ]
    ratios = ", ".join(f"{r:g}" for r in result["round_ratios"])
    return "\n".join(
        [
            grid(title, "server", rows, PEER_COLUMNS),
            f"ours_vs_peer {result['ours_vs_peer']:g} (rounds {ratios}); CPU per report "
            f"(server + PostgreSQL), peer / ours: {result['ours_vs_peer_cpu']}; target_met "
            f"{result['target_met']}, cpu_target_met {result['cpu_target_met']}",
        ]
    )


def _cell(result: dict, column: str) -> str:
    if "skipped" in result:
        return "-"
    value = result.get(column, "")
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    if not load.have_wrk():
        print("NOTE: " + load.WRK_MISSING, file=sys.stderr)
    figures: dict = {}
    if args.what in ("ingest", "all"):
        figures["ingest"] = run_ingest(args)
    if args.what in ("pull", "all"):
        figures["pull"] = run_pull(args)
    if args.what in ("peer", "all"):
        figures["peer"] = run_peer(args)
    if args.what in ("slow", "all"):
        figures["slow"] = run_slow(args)
    figures["meta"] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "generator": "wrk" if load.have_wrk() else "python",
        "cpus": _cpus(),
        "python": platform.python_version(),
        "workers": args.workers,
        "seconds": round(time.monotonic() - started, 1),
    }
    print()
    for section in report(figures, args):
        print(section)
        print()
    print(
        f"{figures['meta']['seconds']} s, {figures['meta']['generator']}, "
        f"{figures['meta']['cpus']} CPUs, {args.workers} workers"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
            handle.write("\n")
    return 0


def report(figures: dict, args) -> list[str]:
    """The console tables of whatever ran."""
    sections = []
    if "ingest" in figures:
        title = (
            f"ingest, {args.connections} connections; p99_8c_ms at 8 (targets "
            "ingest_vs_trivial >= 0.6, p99_8c_ms <= 50, rss_mb <= 150 and flat)"
        )
        sections.append(table(title, figures["ingest"], INGEST_COLUMNS))
    if "pull" in figures:
        sections.append(table("pull (target deep_vs_first <= 2.0)", figures["pull"], PULL_COLUMNS))
    if "peer" in figures:
        title = (
            f"peer: the article's design (Node + Express + Sequelize) vs ours on postgres, "
            f"{args.rounds} alternating rounds of {args.round_s:g} s, wrk -t1 -c8, medians "
            f"(targets ours_vs_peer >= {peer.TARGET_RATIO:g}, "
            f"CPU peer / ours >= {peer.TARGET_CPU_RATIO:g})"
        )
        sections.append(peer_table(title, figures["peer"]))
    if "slow" in figures:
        result = figures["slow"]
        title = (
            f"slow clients: {args.slow_sockets} sockets per mode on {result.get('database')}, "
            f"{slow.PROBERS} clients sending real reports for {args.slow_s:g} s (target >= "
            f"{slow.TARGET_PCT:g} % within_1s_pct)"
        )
        rows = [(mode, result[mode]) for mode in slow.MODES if mode in result]
        if "skipped" in result:
            rows = [("slow clients", result)]
        sections.append(grid(title, "mode", rows, SLOW_COLUMNS))
    return sections


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
