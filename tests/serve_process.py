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


SERVE = (SMSBOUNCE, "serve", "--port", "0")


class ServeProcess:
    """``smsbounce serve --port 0`` (or another ``command`` that prints "listening on URL") with
    ``env``; ``.url`` once it printed that it listens."""

    def __init__(
        self, env: dict[str, str], *args: str, timeout: float = 30, command: tuple = SERVE
    ):
        self.process = subprocess.Popen(
            [*command, *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        # The Marketing credentials, for helpers that read pages (None if generated).
        self.auth = (env.get("SMSBOUNCE_API_USER", "marketing"), env.get("SMSBOUNCE_API_PASSWORD"))
        line = self.wait_for("listening on ", timeout)
        self.url = line.split("listening on ", 1)[1].strip()

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """The next line of output that holds ``text``, once it is printed."""
        while True:
            line = self._lines.get(timeout=timeout)
            if line is None:
                raise RuntimeError(f"exited before printing {text!r}:\n" + "".join(self.output))
            if text in line:
                return line

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
