"""Load generators: wrk (preferred) or a bounded Python fallback. Both return the same dict:
requests, per_s, non2xx, errors, p50_ms, p99_ms, generator."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

LUA = Path(__file__).with_name("ingest.lua")
WRK_MISSING = (
    "wrk is not installed; using the Python load generator instead (slower: it shares the CPU "
    "with the server and caps throughput, so ratios are compressed towards 1 — figures are not "
    "comparable with wrk's). Install wrk with: sudo apt-get install -y wrk (Debian/Ubuntu), "
    "brew install wrk (macOS), or build it from https://github.com/wg/wrk"
)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, target: str, run_id: str, duration: float, connections: int) -> dict:
    """Drive ``target`` (``set`` or ``healthz``) of the buffer at ``url`` for ``duration`` s."""
    if have_wrk():
        return _wrk(url, target, run_id, duration, connections)
    return _python(url, target, run_id, duration, connections)


def _wrk(url: str, target: str, run_id: str, duration: float, connections: int) -> dict:
    return wrk(url, LUA, [run_id, target], duration, connections)


def wrk(
    url: str,
    script: Path,
    script_args: list[str],
    duration: float,
    connections: int,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> dict:
    """One wrk run with ``script``, which must print wrk's summary as a ``BENCH-JSON`` line."""
    command = [
        "wrk",
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--script",
        str(script),
        url,
        "--",
        *script_args,
    ]
    finished = subprocess.run(  # noqa: S603 (our own argument list)
        command,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            raw = json.loads(line.removeprefix("BENCH-JSON "))
            break
    else:
        raise RuntimeError(
            f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}"
        )
    seconds = raw["duration_us"] / 1e6
    return {
        "generator": "wrk",
        "requests": raw["requests"],
        "per_s": (raw["requests"] - raw["non2xx"]) / seconds,
        "non2xx": raw["non2xx"],
        "errors": raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
    }


def set_path(run_id: str, number: int) -> str:
    order = f"{run_id}-p-{number}"
    return (
        f"/api/v1/notifications/set?orderid={order}&time=101500&date=01022026"
        f"&msisdn=%2B4915112345678&status=0x4503%20Message%201%20of%20the%20order%20{order}"
        "%20is%20out%20of%20coverage"
    )


def _client(address, target, run_id, first, stride, deadline, results) -> None:
    """One keep-alive connection sending requests until ``deadline``; appends to ``results``."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    latencies, non2xx, errors, number = [], 0, 0, first
    while time.monotonic() < deadline:
        path = "/healthz" if target == "healthz" else set_path(run_id, number)
        number += stride
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(*address, timeout=10)
            continue
        latencies.append(time.perf_counter() - started)
        non2xx += not 200 <= response.status < 300
    connection.close()
    results.append((latencies, non2xx, errors))


def _process(address, target, run_id, index, threads, stride, deadline, queue) -> None:
    results: list = []
    workers = [
        threading.Thread(
            target=_client,
            args=(address, target, run_id, index * threads + t, stride, deadline, results),
        )
        for t in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(results)


def _python(url: str, target: str, run_id: str, duration: float, connections: int) -> dict:
    parts = urlsplit(url)
    address = (parts.hostname, parts.port)
    processes, threads = 2, max(1, connections // 2)
    started = time.monotonic()
    deadline = started + duration
    queue: multiprocessing.Queue = multiprocessing.Queue()
    stride = processes * threads
    children = [
        multiprocessing.Process(
            target=_process, args=(address, target, run_id, i, threads, stride, deadline, queue)
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    results = [item for _ in children for item in queue.get(timeout=duration + 60)]
    for child in children:
        child.join(timeout=30)
    elapsed = time.monotonic() - started
    latencies = sorted(x for r in results for x in r[0])
    non2xx = sum(r[1] for r in results)
    return {
        "generator": "python",
        "requests": len(latencies),
        "per_s": (len(latencies) - non2xx) / elapsed,
        "non2xx": non2xx,
        "errors": sum(r[2] for r in results),
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(len(values) * percent / 100))]
