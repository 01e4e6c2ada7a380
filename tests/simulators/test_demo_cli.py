"""``smsbounce demo`` as a user runs it: one command, a table, a verdict, an exit status."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from smsbounce.buffer.cli import main as smsbounce

WAIT = 60.0  # bound for the whole demo run in a subprocess


def test_demo_ends_with_a_perfect_reconciliation_and_cleans_up():
    result = CliRunner().invoke(smsbounce, ["demo", "--messages", "20", "--seed", "3"])
    assert result.exit_code == 0, result.output
    output = result.output
    assert output.startswith("smsbounce demo: 20 messages, seed 3, provider di\n")
    assert "settle lag 2 s, db timeout 1 s" in output
    assert re.search(r"^\[ *\d+\.\d s\] sent \d+/20 ", output, re.M)
    for row in ("sent", "delivered", "soft bounces", "hard bounces", "dropped by the provider"):
        assert re.search(rf"^  {row} +\d+ ", output, re.M), row
    assert re.search(r"^  sent +20 ", output, re.M)
    for row in ("lost in the middle", "served twice", "unexpected"):
        assert re.search(rf"^  {row} +0 ", output, re.M), row
    assert output.rstrip().endswith(
        "perfect reconciliation: nothing the buffer acknowledged was lost or served twice"
    )
    database = re.search(r"\((/\S+/buffer\.db);", output).group(1)
    assert not Path(database).parent.exists()  # the temporary SQLite file is gone


def test_an_unusable_database_url_is_explained():
    result = CliRunner().invoke(smsbounce, ["demo", "--database-url", "mysql://db/x"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "mysql" in result.output


def _lines(stream, sink: queue.Queue) -> None:
    for line in stream:
        sink.put(line)
    sink.put(None)


def test_keep_running_leaves_the_services_up_until_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.demo", "--messages", "5", "--keep-running"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        seen, deadline = [], time.monotonic() + WAIT
        while not seen or "DI simulator:" not in seen[-1]:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "".join(seen)
            seen.append(line)
        output = "".join(seen)
        assert "perfect reconciliation" in output
        sim = re.search(r"DI simulator: +(\S+)", output).group(1)
        assert requests.get(sim, timeout=10).json()["idle"] is True
        status = re.search(r"CPI status: GET +(\S+) +\((\S+) / (\S+)\)", output)
        answer = requests.get(
            status.group(1), params={"page": "0"}, auth=status.groups()[1:], timeout=10
        )
        assert answer.status_code == 200 and "lastPage" in answer.json()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)  # the pipe is at its end once the process is gone
        process.stdout.close()
