"""Slow clients (issue 12): K sockets that are idle or trickle their request in, held open against
``smsbounce serve`` while real reports are sent and timed.

The ingest faces the internet unauthenticated, so whoever can open sockets can try to tie up the
server with them. Modes, each on a freshly started server:

- ``none``: no slow sockets — the control row, what the probes get from this machine anyway;
- ``idle``: connect and send nothing;
- ``headers``: a real report's request line and headers, one byte every ``DRIP_S`` seconds;
- ``body``: complete POST headers with a Content-Length, then the body one byte every ``DRIP_S``.

A socket the server closes is opened again at the next drip, so K stay open as far as the server
lets them. Meanwhile ``PROBERS`` clients send real reports, a new connection each; a report counts
when it is answered 2xx within ``WITHIN_S``.
"""

from __future__ import annotations

import http.client
import json
import resource
import selectors
import socket
import statistics
import threading
import time
import uuid
from urllib.parse import urlsplit

from .load import set_path
from .server import Buffer

MODES = ("none", "idle", "headers", "body")
DRIP_S = 3.0
PROBERS = 4
PROBE_TIMEOUT_S = 10.0
WITHIN_S = 1.0
TARGET_PCT = 99.0
BODY_PATH = "/api/v1/providers/infobip/report"
BODY_BYTES = 10_000  # never completes: 10,000 bytes at one per DRIP_S is over 8 hours


def infobip_body(message_id: str, size: int = BODY_BYTES) -> bytes:
    """A valid Infobip report, padded with JSON whitespace to ``size`` bytes."""
    report = {
        "results": [
            {
                "messageId": message_id,
                "to": "4915112345678",
                "doneAt": "2026-02-01T10:15:00.000+0000",
                "status": {"groupName": "UNDELIVERABLE", "description": "Not delivered"},
                "error": {"id": 4503, "description": "Out of coverage", "permanent": True},
            }
        ]
    }
    text = json.dumps(report).encode()
    return text + b" " * max(0, size - len(text))


def request_bytes(mode: str, host: str, message_id: str) -> tuple[bytes, bytes]:
    """What a slow socket of ``mode`` sends: (at once on connect, then a byte per drip)."""
    if mode == "headers":
        head = f"GET {set_path(message_id, 0)} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench-slow"
        return b"", (head + "\r\n\r\n").encode()
    if mode == "body":
        body = infobip_body(message_id)
        head = (
            f"POST {BODY_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench-slow\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode(), body
    return b"", b""


class _Slow:
    """One slow socket and how much of its request it has sent."""

    def __init__(self, address: tuple[str, int], start: bytes, drip: bytes):
        self.socket = socket.create_connection(address, timeout=1)
        if start:
            self.socket.sendall(start)
        self.socket.setblocking(False)
        self.drip, self.sent = drip, 0

    def send_one(self) -> None:
        if self.sent < len(self.drip):
            self.sent += self.socket.send(self.drip[self.sent : self.sent + 1])


class SlowSockets:
    """``count`` slow sockets of ``mode`` held open by one thread (``with`` block)."""

    def __init__(self, url: str, mode: str, count: int, drip_s: float = DRIP_S):
        parts = urlsplit(url)
        self.address, self.host = (parts.hostname, parts.port), parts.netloc
        self.mode, self.count, self.drip_s = mode, count, drip_s
        self.run_id = uuid.uuid4().hex[:8]
        self.selector = selectors.DefaultSelector()
        self.open: list[_Slow] = []
        self.closed_by_server = self.connect_failures = self.fewest_open = 0
        self._made = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _top_up(self) -> None:
        while len(self.open) < self.count and not self._stop.is_set():
            self._made += 1
            start, drip = request_bytes(self.mode, self.host, f"slow-{self.run_id}-{self._made}")
            try:
                slow = _Slow(self.address, start, drip)
            except OSError:
                self.connect_failures += 1
                return  # the server refuses for now: try again at the next drip
            self.open.append(slow)
            self.selector.register(slow.socket, selectors.EVENT_READ, slow)

    def _drop(self, slow: _Slow) -> None:
        self.selector.unregister(slow.socket)
        slow.socket.close()
        self.open.remove(slow)
        self.closed_by_server += 1

    def _run(self) -> None:
        next_drip = time.monotonic() + self.drip_s
        while not self._stop.is_set():
            for key, _ in self.selector.select(timeout=min(0.2, self.drip_s)):
                try:
                    data = key.data.socket.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # the server closed it (after a 408 or without a word)
                    self._drop(key.data)
            if time.monotonic() >= next_drip:
                next_drip += self.drip_s
                for slow in list(self.open):
                    try:
                        slow.send_one()
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._drop(slow)
                self.fewest_open = min(self.fewest_open, len(self.open))
                self._top_up()

    def __enter__(self) -> SlowSockets:
        self._top_up()
        self.fewest_open = len(self.open)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for slow in self.open:
            slow.socket.close()
        self.selector.close()


def probe(address: tuple[str, int], path: str) -> tuple[float, int]:
    """One real report on a new connection: (seconds until answered or failed, status or 0)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(*address, timeout=PROBE_TIMEOUT_S)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        connection.close()
    return time.perf_counter() - started, status


def _probes(url: str, seconds: float) -> list[tuple[float, int]]:
    parts = urlsplit(url)
    address, run_id = (parts.hostname, parts.port), uuid.uuid4().hex[:8]
    deadline = time.monotonic() + seconds
    results: list[tuple[float, int]] = []
    lock = threading.Lock()

    def prober(index: int) -> None:
        number = index
        while time.monotonic() < deadline:
            result = probe(address, set_path(run_id, number))
            number += PROBERS
            with lock:
                results.append(result)

    threads = [threading.Thread(target=prober, args=(i,)) for i in range(PROBERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def raise_fd_limit(needed: int) -> None:
    """Lift this process's soft RLIMIT_NOFILE to ``needed`` if it is lower (never past hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(
                f"{needed} file descriptors needed, the hard limit is {hard}: raise it "
                "(ulimit -Hn) or pass a smaller --slow-sockets"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def measure_mode(database_url: str, workers: int, mode: str, sockets: int, seconds: float) -> dict:
    count = 0 if mode == "none" else sockets
    with Buffer(database_url, workers) as buffer:
        parts = urlsplit(buffer.url)
        # Warm-up, unhindered: pools connected, imports done; it must work before it is attacked.
        warm = [probe((parts.hostname, parts.port), set_path("warm-" + mode, n)) for n in range(8)]
        if any(not 200 <= status < 300 for _, status in warm):
            raise RuntimeError(f"warm-up reports failed: {[s for _, s in warm]}")
        with SlowSockets(buffer.url, mode, count) as slow:
            opened = len(slow.open)
            results = _probes(buffer.url, seconds)
            held = slow.fewest_open
        # The slow sockets are closed here, before the server is asked to stop.
    latencies = sorted(elapsed for elapsed, _ in results)
    ok = sum(1 for elapsed, status in results if 200 <= status < 300 and elapsed <= WITHIN_S)
    pct = 100.0 * ok / len(results) if results else 0.0
    return {
        "sockets": count,
        "opened": opened,
        "fewest_open": held,
        "closed_by_server": slow.closed_by_server,
        "connect_failures": slow.connect_failures,
        "probes": len(results),
        "within_1s": ok,
        "within_1s_pct": round(pct, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1) if latencies else None,
        "failed": sum(1 for _, status in results if status == 0),
        "non2xx": sum(1 for _, status in results if status and not 200 <= status < 300),
        "target_met": pct >= TARGET_PCT,
    }


def measure(database_url: str, workers: int, sockets: int, seconds: float) -> dict:
    """Every mode on ``database_url`` (a scratch database), one fresh server each."""
    raise_fd_limit(sockets + 4 * PROBERS + 256)  # the slow sockets, the probes, ours, wrk's
    return {mode: measure_mode(database_url, workers, mode, sockets, seconds) for mode in MODES}


def _percentile(values: list[float], percent: float) -> float:
    return values[min(len(values) - 1, int(len(values) * percent / 100))]
