"""Tools of the fault suite (tests/fault): a throwaway PostgreSQL, a Jepsen-style set workload
(reports, a retrying provider, a Marketing poller reading contiguous windows) and its checks."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import requests

from smsbounce import contracts
from smsbounce.contracts.wire import MESSAGE_ID_MAX, format_utc
from smsbounce.simulators.marketing.checks import page_problems
from smsbounce.simulators.marketing.walk import walk
from tests.helpers import pipe

IN_CI = os.environ.get("CI", "").lower() == "true"
INGEST = "/api/v1/notifications/set"
STATUS = "/api/v1/notifications/get"


def unavailable(reason: str):
    """Skip with ``reason`` on a developer machine; fail under CI=true, where it must run."""
    import pytest

    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the fault suite must run, not skip)", pytrace=False)
    pytest.skip(reason)


# --- a PostgreSQL of the test's own -------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl: PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """initdb into a temporary directory, serve it on its own port and socket directory.

    ``crash()`` is ``pg_ctl stop -m immediate`` (no shutdown checkpoint: crash recovery on the
    next ``start()``); the port stays the same so the buffer's URL keeps working.
    """

    def __init__(self):
        bindir = postgres_bindir()
        if bindir is None:
            raise FileNotFoundError("initdb not found (install postgresql, e.g. apt-get install)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="smsbounce-fault-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        # PostgreSQL refuses to run as root: run its tools as the postgres user then.
        self._as = []
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                raise FileNotFoundError("running as root needs runuser to start PostgreSQL")
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [*self._as, str(self.bindir / tool), *args]
        finished = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if finished.returncode != 0:
            raise RuntimeError(f"{tool} failed: {finished.stderr or finished.stdout}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def crash(self) -> None:
        """Kill the server the hard way: every connection drops, nothing is shut down cleanly."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.crash()
        shutil.rmtree(self.root, ignore_errors=True)

    def fresh_database(self) -> str:
        """A new, empty database on this server; its URL."""
        import psycopg

        name = f"fault_{os.urandom(5).hex()}"
        admin = psycopg.connect(self.url, connect_timeout=5, autocommit=True)
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        return self.url.rsplit("/", 1)[0] + "/" + name


class PgBouncer:
    """A real PgBouncer in front of PostgreSQL on ``pg_port``: a generated configuration (auth
    trust, every database passed through), a free port of its own, ``pool_mode`` as asked and
    any other setting as keyword arguments (``max_db_connections=1``).

    ``kill()`` is SIGKILL — every client and server connection drops at once; ``start()``
    again brings it back on the same port, as a restart of the pooler does.
    """

    def __init__(self, pg_port: int, pool_mode: str = "transaction", **settings):
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise FileNotFoundError("pgbouncer not found (apt-get install -y pgbouncer)")
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="smsbounce-fault-pgbouncer-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        (self.root / "users.txt").write_text('"postgres" ""\n')
        config = {
            "listen_addr": "127.0.0.1",
            "listen_port": self.port,
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": self.root / "users.txt",
            "pool_mode": pool_mode,
            "max_client_conn": 500,
            "default_pool_size": 20,
            "logfile": self.root / "pgbouncer.log",
            **settings,
        }
        if os.geteuid() == 0:
            config["user"] = "postgres"  # PgBouncer refuses to run as root
            shutil.chown(self.root, "postgres", "postgres")
        lines = ["[databases]", f"* = host=127.0.0.1 port={pg_port}", "[pgbouncer]"]
        lines += [f"{key} = {value}" for key, value in config.items()]
        self.ini = self.root / "pgbouncer.ini"
        self.ini.write_text("\n".join(lines) + "\n")

    def url(self, database_url: str) -> str:
        """``database_url`` (on the PostgreSQL behind) reached through this PgBouncer."""
        name = database_url.rsplit("/", 1)[1]
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self, timeout: float = 15) -> None:
        import psycopg

        self.process = subprocess.Popen(
            [self.binary, str(self.ini)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:  # until it answers a query through to the server
            try:
                psycopg.connect(self.url("/postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not start: {exc}\n{self.log()}") from exc
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def faketime_library() -> str:
    """libfaketime's preload library (Debian package faketime), or FileNotFoundError."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    found += sorted(Path("/usr/lib/faketime").glob("libfaketime.so.1"))
    if not found:
        raise FileNotFoundError("libfaketime not found (apt-get install -y faketime)")
    return str(found[0])


FAKETIME_SITE = Path(__file__).with_name("faketime_site")


def skewed_env(seconds: int) -> dict[str, str]:
    """Environment making a Python process's wall clock ``seconds`` off (negative: behind); its
    monotonic clock stays true, so timeouts and gunicorn's heartbeats are unaffected.
    ``faketime_site/sitecustomize.py`` works around libfaketime's ``time.sleep`` bug."""
    path = [str(FAKETIME_SITE), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        "LD_PRELOAD": faketime_library(),
        "FAKETIME": f"{seconds:+d}s",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "PYTHONPATH": os.pathsep.join(path),
    }


class HangingProxy:
    """TCP forwarder to ``port``; ``hang()`` cuts every connection and then accepts new ones
    without ever answering — a database host that stopped responding. ``resume()`` undoes it."""

    def __init__(self, port: int):
        self.target = ("127.0.0.1", port)
        self.hanging = False
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self) -> None:
        with self._lock:
            self.hanging = True
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def resume(self) -> None:
        self.hanging = False

    def close(self) -> None:
        self.hang()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.append(client)
                if self.hanging:
                    continue  # held open, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(source, sink), daemon=True).start()


def worker_pids(serve) -> list[int]:
    """The granian workers of a ``ServeProcess``: children of its master process."""
    pid = serve.process.pid
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def buffer_env(database_url: str, workers: int = 2, **extra: str) -> dict[str, str]:
    """Environment of a buffer under fault: short database timeout, settle lag just above it."""
    return {
        "SMSBOUNCE_DATABASE_URL": database_url,
        "SMSBOUNCE_API_PASSWORD": "fault-suite-password",
        "SMSBOUNCE_WORKERS": str(workers),
        "SMSBOUNCE_THREADS": "4",
        "SMSBOUNCE_DB_TIMEOUT": "2",
        "SMSBOUNCE_SETTLE_LAG": "3",
        **extra,
    }


# --- the workload ---------------------------------------------------------------------------------

CODES = ("0x4503", "0x4524", "0xDB05", "0xDB52", "0xDB65", "0xDB78", "0xDBF3")


@dataclass
class SentReport:
    """One provider call: a bounce, an exact resend of one, or a malformed report."""

    message_id: str
    kind: str  # bounce | duplicate | malformed
    query: str
    expected: dict[str, str] | None = None  # the Marketing item a bounce must become


def make_reports(count: int, prefix: str, seed: int = 6) -> list[SentReport]:
    """``count`` reports: 10% exact duplicates, 5% malformed, the rest distinct bounces,
    shuffled with ``seed`` (a duplicate may arrive before its original, as with real retries)."""
    rng = random.Random(seed)
    duplicates, malformed = count // 10, count // 20
    bounces = [_bounce(f"{prefix}-{i}", rng) for i in range(count - duplicates - malformed)]
    resent = [
        SentReport(b.message_id, "duplicate", b.query, b.expected)
        for b in rng.sample(bounces, duplicates)
    ]
    broken = [_malformed(f"{prefix}-bad-{i}", i) for i in range(malformed)]
    reports = bounces + resent + broken
    rng.shuffle(reports)
    return reports


def _bounce(message_id: str, rng: random.Random) -> SentReport:
    code = rng.choice(CODES)
    msisdn = f"+49151{rng.randrange(10**8):08d}"
    hour, minute, second = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    text = f"Message 1 of the order {message_id} at destination of {msisdn} failed"
    params = {
        "orderid": message_id,
        "time": f"{hour:02d}{minute:02d}{second:02d}",
        "date": "01022026",
        "msisdn": msisdn,
        "status": f"{code} {text}",
    }
    expected = {
        "messageId": message_id,
        "recipient": msisdn,
        "statusCode": code,
        "statusText": text,
        "type": "Temporary" if code == "0xDBF3" else "Permanent",
        "timestamp": f"20260201{hour:02d}{minute:02d}{second:02d}",
    }
    return SentReport(message_id, "bounce", urlencode(params), expected)


def _malformed(message_id: str, number: int) -> SentReport:
    good = {
        "orderid": message_id,
        "time": "101500",
        "date": "01022026",
        "msisdn": "+4915112345678",
        "status": "0x4503 out of coverage",
    }
    breakages = (
        {"msisdn": None},  # missing
        {"date": "31022026"},  # no such day
        {"time": "25xx00"},
        {"orderid": "x" * (MESSAGE_ID_MAX + 1)},  # longer than the key allows
        {"msisdn": "not-a-number"},
    )
    params = {**good, **breakages[number % len(breakages)]}
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return SentReport(message_id, "malformed", query)


@dataclass
class Attempt:
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection refused/reset, timeout)
    retry_after: str | None = None
    body: dict | None = None


@dataclass
class Delivery:
    report: SentReport
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return any(a.status is not None and 200 <= a.status < 300 for a in self.attempts)


class Provider:
    """Sends every report like a provider that retries each non-2xx answer (and each call that
    got no answer) after ``backoff`` s, alternating over ``urls`` (one per buffer instance),
    until 2xx or ``deadline``. A malformed report is tried ``bad_attempts`` times in all."""

    def __init__(self, urls: list[str], deadline: float, backoff: float = 0.1, bad_attempts=2):
        self.urls, self.deadline, self.backoff = urls, deadline, backoff
        self.bad_attempts = bad_attempts
        self._local = threading.local()
        self._turn = itertools.count()
        self.acknowledged = 0

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def deliver(self, report: SentReport) -> Delivery:
        delivery = Delivery(report)
        while time.monotonic() < self.deadline:
            url = self.urls[next(self._turn) % len(self.urls)]
            started = time.monotonic()
            try:
                response = self._session().get(f"{url}{INGEST}?{report.query}", timeout=30)
            except requests.RequestException:
                self._local.__dict__.pop("session", None)  # a fresh connection next time
                delivery.attempts.append(Attempt(started, time.monotonic(), None))
                time.sleep(self.backoff)
                continue
            try:
                body = response.json()
            except ValueError:
                body = None
            attempt = Attempt(
                started,
                time.monotonic(),
                response.status_code,
                response.headers.get("Retry-After"),
                body,
            )
            delivery.attempts.append(attempt)
            if 200 <= response.status_code < 300:
                self.acknowledged += 1
                return delivery
            if report.kind == "malformed" and len(delivery.attempts) >= self.bad_attempts:
                return delivery
            time.sleep(self.backoff)
        return delivery

    def deliver_all(self, reports: list[SentReport], threads: int = 8) -> list[Delivery]:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(self.deliver, reports))


class _ReadFailed(Exception):
    """A page got no answer or a 503: the window is read again later."""


def _utc(seconds: int) -> str:
    return format_utc(datetime.fromtimestamp(seconds, tz=timezone.utc))


class Marketing:
    """Polls contiguous windows ``[start, end)`` (end = now, whole seconds) every ``interval``
    s in a thread, reading every page of each through the status contract, alternating over
    ``servers``. A window that fails (503, refused) is read again later from its first page.
    ``finish(until)`` keeps polling until a window ending after ``until`` (epoch s) was read."""

    def __init__(self, servers: list, interval: float = 1.0):
        self.servers, self.interval = servers, interval
        self.items: list[dict] = []
        self.windows = 0
        self.failed_reads = 0
        self.last_problem = ""
        self._start = int(time.time()) - 1
        self._until: float | None = None
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        turn = itertools.count()
        try:
            while not self._done.is_set():
                end = int(time.time())
                if end > self._start:
                    server = self.servers[next(turn) % len(self.servers)]
                    items = self._read_window(server, self._start, end)
                    if items is None:
                        self.failed_reads += 1
                    else:
                        self.items.extend(items)
                        self.windows += 1
                        self._start = end
                        if self._until is not None and end > self._until:
                            return
                self._done.wait(self.interval)
        except BaseException as exc:  # reported by finish()
            self._error = exc

    def _read_window(self, server, start: int, end: int) -> list[dict] | None:
        with requests.Session() as session:

            def fetch(page: int) -> dict:
                params = {"startTimeUTC": _utc(start), "endTimeUTC": _utc(end), "page": str(page)}
                try:
                    response = session.get(
                        server.url + STATUS, params=params, auth=server.auth, timeout=30
                    )
                except requests.RequestException as exc:
                    raise _ReadFailed(f"window {params}: {exc}") from None
                if response.status_code == 503:
                    raise _ReadFailed(f"window {params}: 503 {response.text}")
                assert response.status_code == 200, response.text
                body = response.json()
                problems = page_problems(page, body)
                assert not problems, problems
                empty_not_last = not body["status"] and not body["lastPage"]
                assert not empty_not_last, "a page before the last one must not be empty"
                return body

            try:
                walked = walk(fetch)
            except _ReadFailed as exc:
                self.last_problem = str(exc)
                return None
        if walked.capped:
            raise AssertionError("a window of more than 10,000 pages")
        return [item for body in walked.answers for item in body["status"]]

    def finish(self, until: float, timeout: float = 60) -> list[dict]:
        self._until = until
        self._thread.join(timeout)
        self._done.set()
        if self._error is not None:
            raise self._error
        assert not self._thread.is_alive(), (
            f"Marketing could not read the last window in time ({self.windows} windows read, "
            f"{self.failed_reads} failed reads; last problem: {self.last_problem or 'none'})"
        )
        return self.items


@dataclass
class Verdict:
    sent: int
    acknowledged: int
    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    wrong_content: list[str]
    malformed_not_400: list[str]
    never_acknowledged: list[str]
    ok_during_outage: int = 0
    statuses: Counter = field(default_factory=Counter)

    def summary(self, name: str) -> str:
        answers = dict(sorted(self.statuses.items(), key=str))
        return (
            f"{name}: sent={self.sent} acknowledged={self.acknowledged} lost={len(self.lost)} "
            f"duplicated={len(self.duplicated)} unexpected={len(self.unexpected)} "
            f"wrong_content={len(self.wrong_content)} "
            f"malformed_not_400={len(self.malformed_not_400)} "
            f"never_acknowledged={len(self.never_acknowledged)} "
            f"ok_during_outage={self.ok_during_outage} answers={answers}"
        )

    def assert_holds(self) -> None:
        assert not self.lost, f"acknowledged but never served: {self.lost[:10]}"
        assert not self.duplicated, f"served more than once: {self.duplicated[:10]}"
        assert not self.unexpected, f"served but never acknowledged: {self.unexpected[:10]}"
        assert not self.wrong_content, f"served with other content: {self.wrong_content[:10]}"
        assert not self.malformed_not_400, f"malformed, not a JSON 400: {self.malformed_not_400}"
        assert not self.never_acknowledged, f"gave up on: {self.never_acknowledged[:10]}"
        assert self.ok_during_outage == 0, "2xx while the database was down"


def verdict(
    deliveries: list[Delivery], served: list[dict], outage: tuple[float, float] | None = None
) -> Verdict:
    """Compare what the provider was told with what Marketing read (the set test's checks)."""
    bounces = [d for d in deliveries if d.report.kind != "malformed"]
    acknowledged = {d.report.message_id for d in bounces if d.acknowledged}
    expected = {d.report.message_id: d.report.expected for d in bounces}
    counts = Counter(item["messageId"] for item in served)
    statuses = Counter(a.status for d in deliveries for a in d.attempts)
    malformed_not_400 = [
        d.report.message_id
        for d in deliveries
        if d.report.kind == "malformed" and not _all_json_400(d.attempts)
    ]
    ok_during_outage = 0
    if outage is not None:
        down, up = outage
        ok_during_outage = sum(
            1
            for d in bounces
            for a in d.attempts
            if a.status is not None and 200 <= a.status < 300 and a.started > down and a.ended < up
        )
    return Verdict(
        sent=len(deliveries),
        acknowledged=len(acknowledged),
        lost=sorted(acknowledged - counts.keys()),
        duplicated=sorted(m for m, n in counts.items() if n > 1),
        unexpected=sorted(counts.keys() - acknowledged),
        wrong_content=sorted(
            item["messageId"]
            for item in served
            if item["messageId"] in expected and item != expected[item["messageId"]]
        ),
        malformed_not_400=malformed_not_400,
        never_acknowledged=sorted({d.report.message_id for d in bounces} - acknowledged),
        ok_during_outage=ok_during_outage,
        statuses=statuses,
    )


def _all_json_400(attempts: list[Attempt]) -> bool:
    """Every answer (calls that got none are retried) a 400 in the JSON error shape."""
    answered = [a for a in attempts if a.status is not None]
    return bool(answered) and all(
        a.status == 400 and a.body is not None and contracts.problems("error", a.body) == []
        for a in answered
    )


def assert_503_answers_are_well_formed(deliveries: list[Delivery]) -> None:
    """Every 503 the provider got carries Retry-After and the JSON error shape."""
    for delivery in deliveries:
        for attempt in delivery.attempts:
            if attempt.status == 503:
                assert attempt.retry_after and int(attempt.retry_after) > 0
                assert attempt.body and contracts.problems("error", attempt.body) == []


def kill_workers(serve, times: int, every: float, stop: threading.Event) -> list[int]:
    """SIGKILL a random worker of ``serve`` every ``every`` s, ``times`` times at most."""
    killed, rng = [], random.Random(9)
    for _ in range(times):
        if stop.wait(every):
            break
        pids = worker_pids(serve)
        if pids:
            victim = rng.choice(pids)
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
    return killed
