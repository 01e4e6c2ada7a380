"""The servers under test, started as child processes: ``smsbounce serve`` exactly as operators
start it, and whatever else a benchmark compares it with (the peer)."""

from __future__ import annotations

import http.client
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

SMSBOUNCE = str(Path(sys.executable).with_name("smsbounce"))
API_USER, API_PASSWORD = "marketing", "bench-password-not-secret"
START_SECONDS = 60


def free_port() -> int:
    """A port nobody listens on right now (the kernel's pick), for a server started next.

    The bench picks it rather than asking the server for port 0: how a server reports the port it
    bound, and whether every worker binds the same one, is the server's business.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Child process ids of ``pid`` (from /proc; kernels without ``children`` files too)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The parent id is the second field after the parenthesised command name.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def leaves(pid: int) -> list[int]:
    """The descendants of ``pid`` that have no children of their own.

    These are the worker processes whether the server forks them itself (gunicorn, granian) or
    runs a master of its own under a launcher.
    """
    found, pending = [], children(pid)
    while pending:
        child = pending.pop()
        grandchildren = children(child)
        if grandchildren:
            pending += grandchildren
        else:
            found.append(child)
    return found


class Process:
    """A server command run as a child process, its output kept and read line by line."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: str | None = None):
        self.process = subprocess.Popen(  # noqa: S603 (our own argument list)
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, marker: str, deadline: float) -> str:
        """The first output line containing ``marker``; RuntimeError if the process exits first."""
        while True:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise RuntimeError(
                    f"{self.process.args[0]} did not print {marker!r}:\n" + "".join(self.output)
                )
            if marker in line:
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def wait_until_answering(url: str, path: str, deadline: float) -> None:
    """Poll ``path`` until it answers at all (any status): readiness without sleeping blind."""
    parts = urlsplit(url)
    while True:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer {path}") from None
            time.sleep(0.05)
        finally:
            connection.close()


class Buffer(Process):
    """``smsbounce serve --port N --workers W`` on ``database_url``; ``.url`` as it printed it."""

    def __init__(self, database_url: str, workers: int, env: dict[str, str] | None = None):
        environment = {
            **os.environ,
            "SMSBOUNCE_DATABASE_URL": database_url,
            "SMSBOUNCE_API_USER": API_USER,
            "SMSBOUNCE_API_PASSWORD": API_PASSWORD,
            **(env or {}),
        }
        port = str(free_port())
        command = [SMSBOUNCE, "serve", "--port", port, "--workers", str(workers)]
        super().__init__(command, environment)
        self.workers = workers
        self.auth = (API_USER, API_PASSWORD)
        deadline = time.monotonic() + START_SECONDS
        line = self.wait_for("listening on ", deadline)
        self.url = line.split("listening on ", 1)[1].strip()
        wait_until_answering(self.url, "/healthz", deadline)
        self._wait_for_workers(deadline)

    def _wait_for_workers(self, deadline: float) -> None:
        while len(self.worker_pids()) < self.workers:
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.workers} workers did not start")
            time.sleep(0.05)

    def worker_pids(self) -> list[int]:
        """The worker processes under ``smsbounce serve`` (see ``leaves``)."""
        return leaves(self.process.pid)
