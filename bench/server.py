"""The buffer under test, started exactly as operators start it: ``smsbounce serve``."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SMSBOUNCE = str(Path(sys.executable).with_name("smsbounce"))
API_USER, API_PASSWORD = "marketing", "bench-password-not-secret"


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


class Buffer:
    """``smsbounce serve --port 0`` on ``database_url`` with ``workers`` gunicorn workers."""

    def __init__(self, database_url: str, workers: int, env: dict[str, str] | None = None):
        environment = {
            **os.environ,
            "SMSBOUNCE_DATABASE_URL": database_url,
            "SMSBOUNCE_API_USER": API_USER,
            "SMSBOUNCE_API_PASSWORD": API_PASSWORD,
            **(env or {}),
        }
        command = [SMSBOUNCE, "serve", "--port", "0", "--workers", str(workers)]
        self.workers = workers
        self.auth = (API_USER, API_PASSWORD)
        self.process = subprocess.Popen(  # noqa: S603 (our own argument list)
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        self.url = None
        deadline = time.monotonic() + 60
        while self.url is None:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise RuntimeError("smsbounce serve exited:\n" + "".join(self.output))
            if "listening on " in line:
                self.url = line.split("listening on ", 1)[1].strip()
        self._wait_for_workers(deadline)

    def _read(self, lines: queue.Queue) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def _wait_for_workers(self, deadline: float) -> None:
        while len(self.worker_pids()) < self.workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.workers} workers did not start")
            time.sleep(0.05)

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the ``smsbounce serve`` (master) process."""
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process.stdout.close()

    def __enter__(self) -> Buffer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
