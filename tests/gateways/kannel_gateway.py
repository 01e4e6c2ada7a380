"""Real Kannel (Debian's bearerbox and smsbox) on free ports, bound to the test SMSC.

The configuration is the test's own (ports, logs, one SMPP link per charset) plus the lines the
documentation's recipe tells an integrator to add to the ``core`` and ``smsbox`` groups, used
verbatim.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from .waiting import get

BINARIES = ("bearerbox", "smsbox")
START_TIMEOUT = 20.0

# One link per way an SMSC link encodes text: GSM 03.38 (no alt-charset), Latin-1, UTF-8.
LINKS = {"gsm": None, "latin1": "ISO-8859-1", "utf8": "UTF-8"}

_CORE = """group = core
admin-port = {admin}
admin-password = test
smsbox-port = {box}
box-allow-ip = 127.0.0.1
log-file = "{dir}/bearerbox.log"
log-level = 1
dlr-storage = internal
# A test need not wait Kannel's default minute between retries of a temporary SMSC error.
sms-resend-freq = 1
{core}
"""

_LINK = """group = smsc
smsc = smpp
smsc-id = {name}
allowed-smsc-id = {name}
host = 127.0.0.1
port = {smsc}
transceiver-mode = true
smsc-username = test
smsc-password = test
system-type = ""
reconnect-delay = 1
{charset}
"""

_SMSBOX = """group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
log-file = "{dir}/smsbox.log"
log-level = 1
{smsbox}

group = sendsms-user
username = test
password = test
max-messages = 5
concatenation = true

group = sms-service
keyword = default
text = "not used"
"""


def missing() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Kannel:
    """bearerbox + smsbox; ``send(query)`` calls sendsms; ``stop()`` ends both."""

    def __init__(self, directory: Path, smsc_port: int, core: str = "", smsbox: str = ""):
        self.directory = directory
        self.admin, self.box, self.sendsms = free_port(), free_port(), free_port()
        links = "\n".join(
            _LINK.format(
                name=name,
                smsc=smsc_port,
                charset=f'alt-charset = "{charset}"' if charset else "",
            )
            for name, charset in LINKS.items()
        )
        values = dict(admin=self.admin, box=self.box, sendsms=self.sendsms, dir=directory)
        config = "\n".join(
            [
                _CORE.format(core=core, **values),
                links,
                _SMSBOX.format(smsbox=smsbox, **values),
            ]
        )
        self.config = directory / "kannel.conf"
        self.config.write_text(config)
        self._processes: list[subprocess.Popen] = []
        self._logs: list = []
        try:
            self._start("bearerbox", self.box)
            self._start("smsbox", self.sendsms)
            self._wait_online()
        except BaseException:
            self.stop()
            raise

    def _start(self, binary: str, port: int) -> None:
        log = open(self.directory / f"{binary}.out", "wb")  # noqa: SIM115 - closed by stop()
        self._logs.append(log)
        process = subprocess.Popen([binary, str(self.config)], stdout=log, stderr=log)
        self._processes.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{binary} exited: {self.log(binary)}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{binary} did not open port {port}: {self.log(binary)}")

    def _wait_online(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        url = f"http://127.0.0.1:{self.admin}/status.txt?password=test"
        while time.monotonic() < deadline:
            status = get(url)[1]
            if status.count("(online") >= len(LINKS):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the SMPP links never came online:\n{status}")

    def log(self, binary: str) -> str:
        path = self.directory / f"{binary}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def send(self, query: str) -> tuple[int, str]:
        """GET /cgi-bin/sendsms?<query> as given (already URL-encoded); (status, body)."""
        return get(f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms?{query}")

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.terminate()
        for process in self._processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
