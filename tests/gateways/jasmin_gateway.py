"""Real Jasmin (PyPI ``jasmin``) with RabbitMQ and Redis, one SMPP client connector to the test
SMSC and its HTTP API on free ports.

Jasmin runs from a Python environment of its own (``SMSBOUNCE_TEST_JASMIN_PYTHON``, default
``.ci-jasmin/bin/python`` in the repository, which .ci/run creates): it pins Twisted and friends,
which must not mix with the project's own test environment. ``jasmin_run.py`` is its launcher.
Each run gets a RabbitMQ vhost of its own, because Jasmin's queue names are fixed and two test
sessions on one machine would take each other's messages.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from .kannel_gateway import free_port
from .waiting import get

ROOT = Path(__file__).resolve().parents[2]
PYTHON_VARIABLE = "SMSBOUNCE_TEST_JASMIN_PYTHON"
LAUNCHER = Path(__file__).with_name("jasmin_run.py")
START_TIMEOUT = 60.0
REDIS_DB = 9  # Jasmin's keys carry its own UUIDs, so sharing a database between runs is safe

_CONFIG = """[jcli]
bind = 127.0.0.1
port = {jcli}
[router]
bind = 127.0.0.1
port = {router}
persistence_timer_secs = 3600
[smpp-server]
bind = 127.0.0.1
port = {smpp_server}
[smpp-server-pb]
bind = 127.0.0.1
port = {smpp_server_pb}
[client-management]
bind = 127.0.0.1
port = {client_management}
[http-api]
bind = 127.0.0.1
port = {http}
[interceptor-client]
port = {interceptor}
[amqp-broker]
host = 127.0.0.1
port = 5672
vhost = {vhost}
username = guest
password = guest
spec = {spec}
[redis-client]
host = 127.0.0.1
port = 6379
dbid = {redis_db}
[sm-listener]
# Jasmin holds a throttled message back for the retry delay, and with it the connector's whole
# queue (prefetch 1): it would stall every message behind it. Its level-1 report goes out at
# once either way, so the test does not let it retry.
submit_error_retrial = {{'ESME_RTHROTTLED': {{'count': 0, 'delay': 1}}}}
[dlr-thrower]
retry_delay = {retry_delay}
max_retries = {max_retries}
http_timeout = 10
"""


def python() -> str:
    return os.environ.get(PYTHON_VARIABLE) or str(ROOT / ".ci-jasmin" / "bin" / "python")


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def unavailable() -> str | None:
    """Why Jasmin cannot run here, or None."""
    interpreter = python()
    if not Path(interpreter).exists():
        return (
            f"a Python with jasmin 0.11.0 at {interpreter} (set {PYTHON_VARIABLE}, or: python3 -m "
            "venv .ci-jasmin && .ci-jasmin/bin/pip install 'jasmin==0.11.0')"
        )
    probe = subprocess.run(
        [interpreter, "-c", "import jasmin; print(jasmin.get_release())"],
        capture_output=True,
        text=True,
    )
    if probe.returncode:
        return f"jasmin importable by {interpreter}: {probe.stderr.strip()[-300:]}"
    if probe.stdout.strip() == "0.11.1":
        # Its submit_sm_resp handler crashes on every message, so it sends no receipt at all
        # (jookies/jasmin#1236, `_pdu.response` in managers/listeners.py).
        return f"jasmin 0.11.0 at {interpreter}, not 0.11.1 (broken: jookies/jasmin#1236)"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl (apt-get install rabbitmq-server)"
    for name, port in (("RabbitMQ", 5672), ("Redis", 6379)):
        if not _port_open(port):
            return f"{name} on 127.0.0.1:{port}"
    return None


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class Jasmin:
    """jasmind, configured and bound to the SMSC; ``send(params)`` calls its HTTP API."""

    def __init__(
        self, interpreter: str, directory: Path, smsc_port: int, retry_delay=1, max_retries=2
    ):
        self.directory = directory
        self.vhost = f"smsbounce-test-{uuid.uuid4().hex[:10]}"
        _rabbitmqctl("add_vhost", self.vhost)
        self.process = None
        try:
            _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
            self._start(interpreter, smsc_port, retry_delay, max_retries)
        except BaseException:
            self.stop()
            raise

    def _start(self, interpreter: str, smsc_port: int, retry_delay, max_retries) -> None:
        spec = subprocess.run(
            [
                interpreter,
                "-c",
                "import txamqp, pathlib; print(pathlib.Path(txamqp.__file__)"
                ".with_name('specs') / 'standard' / 'amqp0-9-1.stripped.xml')",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()  # the wheel lacks Jasmin's own copy of the AMQP spec
        self.http = free_port()
        ports = {
            name: free_port()
            for name in ("jcli", "router", "smpp_server", "smpp_server_pb", "client_management")
        }
        config = _CONFIG.format(
            http=self.http,
            interceptor=free_port(),
            vhost=self.vhost,
            spec=spec,
            redis_db=REDIS_DB,
            retry_delay=retry_delay,
            max_retries=max_retries,
            **ports,
        )
        (self.directory / "etc" / "jasmin" / "store").mkdir(parents=True, exist_ok=True)
        logs = self.directory / "log"
        logs.mkdir(exist_ok=True)
        config_file = self.directory / "jasmin.cfg"
        config_file.write_text(config)
        env = {**os.environ, "ROOT_PATH": str(self.directory), "LOG_PATH": str(logs)}
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [interpreter, str(LAUNCHER), str(config_file), str(smsc_port), str(logs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        ready = threading.Event()

        def read():
            for line in self.process.stdout:
                self.output.append(line)
                if line.startswith("READY"):
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jasmind did not come up:\n" + "".join(self.output[-40:]))

    def send(self, params: dict[str, str]) -> tuple[int, str]:
        """GET /send?<params> (URL-encoded here); (status, body)."""
        query = urllib.parse.urlencode(params)
        return self.send_query(query)

    def send_query(self, query: str) -> tuple[int, str]:
        return get(f"http://127.0.0.1:{self.http}/send?{query}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()
            self.process = None
        try:
            _rabbitmqctl("delete_vhost", self.vhost)
        except subprocess.SubprocessError as exc:
            print(f"could not delete RabbitMQ vhost {self.vhost}: {exc}", file=sys.stderr)
