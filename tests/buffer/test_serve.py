"""``smsbounce serve`` as an operator runs it: a real process on a real port."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.fault.helpers import worker_pids
from tests.helpers import all_bounces, send
from tests.serve_process import SMSBOUNCE, ServeProcess


def test_first_start_creates_tables_prints_url_and_generated_password_once(tmp_path):
    env = {"SMSBOUNCE_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    with ServeProcess(env) as server:
        [line] = [line for line in server.output if "Generated password" in line]
        password = line.rsplit(" ", 1)[1].strip()
        assert send(requests, server, "1000001") == "stored"
        server.auth = ("marketing", password)
        assert [b["messageId"] for b in all_bounces(requests, server)] == ["1000001"]
        assert requests.get(server.url + "/api/v1/notifications/get").status_code == 401
        assert server.stop() == 0
    assert "".join(server.output).count(password) == 1


def test_configured_password_is_not_printed(db_url):
    env = {"SMSBOUNCE_DATABASE_URL": db_url, "SMSBOUNCE_API_PASSWORD": "configured-secret"}
    with ServeProcess(env) as server:
        assert requests.get(server.url + "/api/v1/notifications/get", auth=server.auth).ok
        assert server.stop() == 0
    # (The start names the database file, whose path may hold the test's own name.)
    assert not any("configured-secret" in line for line in server.output)
    assert not any("generated password" in line.lower() for line in server.output)


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        ({"SMSBOUNCE_PAGE_SIZE": "lots"}, "SMSBOUNCE_PAGE_SIZE must be a whole number"),
        ({"SMSBOUNCE_ENABLE_CLEAR": "true"}, "SMSBOUNCE_ENABLE_CLEAR is set but"),
        ({"SMSBOUNCE_DATABASE_URL": "mysql://x/y"}, "database URL must start with sqlite"),
        ({"SMSBOUNCE_DATABASE_URL": "sqlite:////no/such/dir/x.db"}, "cannot open the database"),
    ],
    ids=["bad-number", "clear-in-production", "unsupported-database", "unopenable-database"],
)
def test_bad_configuration_stops_the_start_with_one_sentence(env, sentence):
    result = subprocess.run(
        [SMSBOUNCE, "serve", "--port", "0"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr


def _env(tmp_path, name: str) -> dict[str, str]:
    """A buffer of its own: database, password and metrics folder (a SIGKILLed server leaves
    its folder behind; this one is removed with ``tmp_path``)."""
    metrics = tmp_path / f"{name}-metrics"
    metrics.mkdir()
    return {
        "SMSBOUNCE_DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
        "SMSBOUNCE_API_PASSWORD": f"password-of-the-{name}-server",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }


def answers_alone(server, requests_: int = 20) -> bool:
    """Whether ``server`` answers every one of ``requests_`` fresh connections to its port
    (another server's password would not be taken)."""
    return all(
        requests.get(
            server.url + "/api/v1/notifications/get",
            auth=server.auth,
            headers={"Connection": "close"},
            timeout=10,
        ).status_code
        == 200
        for _ in range(requests_)
    )


def test_a_second_server_on_a_taken_port_stops_with_a_sentence_and_the_first_serves_on(tmp_path):
    # Each granian worker used to bind its own SO_REUSEPORT socket: a second server of the same
    # user joined them, and the kernel split the connections between the two (issue 23).
    with ServeProcess(_env(tmp_path, "first"), "--workers", "2") as first:
        port = first.url.rsplit(":", 1)[1]
        with subprocess.Popen(
            [SMSBOUNCE, "serve", "--port", port, "--workers", "2"],
            env={"PATH": "/usr/bin:/bin", **_env(tmp_path, "second")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as second:
            output = ""
            for line in second.stdout:
                output += line
                if "listening on" in line:
                    second.terminate()
                    pytest.fail(f"a second server shares port {port}:\n{output}")
            assert second.wait(timeout=60) == 1
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in output
        assert "Traceback" not in output
        assert answers_alone(first)
        assert first.stop() == 0


def _alive(pids: list[int], after: float) -> list[int]:
    """Those of ``pids`` still running ``after`` seconds from now, or as soon as none is (a
    zombie nobody reaped has ended too)."""

    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + after
    while (alive := [pid for pid in pids if running(pid)]) and time.monotonic() < deadline:
        threading.Event().wait(0.05)
    return alive


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` holds a listening socket on (IPv4)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            inodes.add(os.readlink(fd).removeprefix("socket:[").removesuffix("]"))
    ports = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_workers_end_with_their_master_killed_and_free_its_port(tmp_path):
    with ServeProcess(_env(tmp_path, "killed"), "--workers", "2") as killed:
        workers = worker_pids(killed)
        assert len(workers) == 2
        port = int(killed.url.rsplit(":", 1)[1])
        assert [listening_ports(pid) for pid in workers] == [{port}, {port}], "--port 0"
        killed.process.kill()
        killed.process.wait(timeout=10)
        orphans = _alive(workers, after=10)
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)  # they hold the output pipe: the test would hang
        assert not orphans, "workers serve on without their master"
    with ServeProcess(_env(tmp_path, "next"), "--port", str(port)) as following:
        assert following.url == killed.url
        assert answers_alone(following)
        assert following.stop() == 0


# Imports the command with psycopg (3) made unimportable, as on an install without the extra;
# psycopg2, where it happens to be installed, is not a driver the buffer takes.
_WITHOUT_DRIVER = (
    "import sys; sys.modules['psycopg'] = None; "
    "from smsbounce.buffer.cli import main; sys.exit(main())"
)


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "0"],
        ["migrate"],
        ["demo", "--messages", "1"],
    ],
    ids=["serve", "migrate", "demo"],
)
def test_a_postgresql_url_without_the_driver_says_what_to_install(command):
    url = "postgresql://postgres@127.0.0.1:1/none"
    if command[0] == "demo":
        command = [*command, "--database-url", url]
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_DRIVER, *command],
        env={"PATH": "/usr/bin:/bin", "SMSBOUNCE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "pip install 'smsbounce[postgres]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
