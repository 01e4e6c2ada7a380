"""Run ``smsbounce serve`` as a real process, the way operators do."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

SMSBOUNCE = str(Path(sys.executable).with_name("smsbounce"))


class ServeProcess:
    """``smsbounce serve --port 0`` with ``env``; ``.url`` once it printed that it listens."""

    def __init__(self, env: dict[str, str], *args: str, timeout: float = 30):
        self.process = subprocess.Popen(
            [SMSBOUNCE, "serve", "--port", "0", *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = None
        # The Marketing credentials, for helpers that read pages (None if generated).
        self.auth = (env.get("SMSBOUNCE_API_USER", "marketing"), env.get("SMSBOUNCE_API_PASSWORD"))
        while self.url is None:
            line = self._lines.get(timeout=timeout)
            if line is None:
                raise RuntimeError("smsbounce serve exited:\n" + "".join(self.output))
            if "listening on " in line:
                self.url = line.split("listening on ", 1)[1].strip()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def stop(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.process.stdout.close()
        return code

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process.poll() is None:
            self.stop()
        self.process.stdout.close()
