"""Resident memory of the server's workers, sampled from /proc while a run goes on."""

from __future__ import annotations

import threading
from pathlib import Path


def rss_mb(pid: int) -> float | None:
    """VmRSS of ``pid`` in MiB, or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Samples every worker of ``buffer`` every ``interval`` s in a thread (``with`` block).

    ``peak_mb`` is the largest RSS any one worker reached; ``growth_mb`` the largest rise of one
    worker between its first and last sample — near zero means memory stayed flat.
    """

    def __init__(self, buffer, interval: float = 0.2):
        self.buffer, self.interval = buffer, interval
        self.samples: dict[int, list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            for pid in self.buffer.worker_pids():
                value = rss_mb(pid)
                if value is not None:
                    self.samples.setdefault(pid, []).append(value)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak_mb(self) -> float:
        return max((max(values) for values in self.samples.values()), default=0.0)

    @property
    def growth_mb(self) -> float:
        return max((values[-1] - values[0] for values in self.samples.values()), default=0.0)
