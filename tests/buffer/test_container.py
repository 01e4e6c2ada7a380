"""The container: the Dockerfile and compose.yaml read as Docker reads them, and the image's
entry point run here — same command, same environment — since this machine has no Docker."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from smsbounce.buffer.__main__ import GRACEFUL_SECONDS
from smsbounce.buffer.settings import Settings
from tests.helpers import all_bounces, send

ROOT = Path(__file__).resolve().parents[2]
BIN = str(Path(sys.executable).parent)


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions per stage, ``(INSTRUCTION, arguments)``, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def final_stage() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for instruction, arguments in dockerfile_stages()[-1]:
        found.setdefault(instruction, []).append(arguments)
    return found


def image_env() -> dict[str, str]:
    env = {}
    for arguments in final_stage().get("ENV", []):
        for pair in shlex.split(arguments):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def image_command() -> list[str]:
    """ENTRYPOINT + CMD, both in exec (JSON) form as Docker runs them."""
    stage = final_stage()
    return json.loads(stage["ENTRYPOINT"][-1]) + json.loads(stage["CMD"][-1])


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def compose_env(service: str, given: dict[str, str]) -> dict[str, str]:
    """The service's environment after compose's ``${VAR:?msg}`` / ``${VAR:-default}``."""

    def substitute(match):
        name, op, word = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        if op == ":?":
            raise AssertionError(f"compose requires {name}: {word}")
        return word or ""

    pattern = re.compile(r"\$\{([A-Z_]+)(?:(:\?|:-)([^}]*))?\}")
    raw = compose()["services"][service]["environment"]
    return {k: pattern.sub(substitute, str(v)) for k, v in raw.items()}


def test_the_image_is_small_non_root_and_serves_on_8080():
    stages = dockerfile_stages()
    for stage in stages:
        assert re.fullmatch(r"python:3\.\d+-slim( AS \w+)?", stage[0][1]), stage[0]
    stage = final_stage()
    assert stage["USER"][-1] not in ("root", "0")
    assert image_command() == ["smsbounce", "serve"]
    env = image_env()
    assert env["SMSBOUNCE_HOST"] == "0.0.0.0" and env["PORT"] == "8080"
    assert stage["EXPOSE"] == ["8080"]
    assert not any("COPY . " in a for a in stage.get("COPY", [])), (
        "only the wheel reaches the image"
    )
    settings = Settings.from_env(env)
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)


def test_dockerignore_keeps_local_state_out_of_the_build():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "*.db", "tests"):
        assert entry in ignored


def test_compose_runs_the_buffer_against_its_postgresql():
    services = compose()["services"]
    db, buffer = services["db"], services["buffer"]
    assert db["image"].startswith("postgres:") and "healthcheck" in db
    assert buffer["build"] == "."
    assert buffer["depends_on"]["db"]["condition"] == "service_healthy"
    assert buffer["ports"] == ["8080:8080"]
    assert int(buffer["stop_grace_period"].removesuffix("s")) > GRACEFUL_SECONDS
    env = compose_env("buffer", {"SMSBOUNCE_API_PASSWORD": "strong-test-password"})
    url = urlsplit(env["SMSBOUNCE_DATABASE_URL"])
    assert url.hostname == "db" and url.username == db["environment"]["POSTGRES_USER"]
    assert url.path == "/" + db["environment"]["POSTGRES_DB"]
    Settings.from_env({**image_env(), **env})  # a valid configuration
    with pytest.raises(AssertionError, match="compose requires SMSBOUNCE_API_PASSWORD"):
        compose_env("buffer", {})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_image(env: dict[str, str], cwd: Path):
    """The image's command with the image's environment, as `docker run` would start it."""
    port = _free_port()
    env = {**env, "PORT": str(port), "PATH": BIN + os.pathsep + "/usr/bin:/bin", "HOME": str(cwd)}
    process = subprocess.Popen(
        image_command(),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:
        if "listening on" in line:
            break
    assert f"listening on http://0.0.0.0:{port}" in line, line
    server = type(
        "Image",
        (),
        {"url": f"http://127.0.0.1:{port}", "auth": ("marketing", "strong-test-password")},
    )
    return process, server, env


def healthcheck(env) -> int:
    """The HEALTHCHECK's command, run as Docker would."""
    command = json.loads(final_stage()["HEALTHCHECK"][-1].split(" CMD ", 1)[1])
    command[0] = str(Path(BIN) / command[0]) if command[0] == "python" else command[0]
    return subprocess.run(command, env=env, timeout=30).returncode


def stop(process) -> int:
    process.send_signal(signal.SIGTERM)  # what `docker stop` sends to PID 1
    code = process.wait(timeout=GRACEFUL_SECONDS + 10)
    process.stdout.close()
    return code


def test_the_entry_point_with_the_image_environment_on_sqlite(tmp_path):
    env = image_env()
    # /data is the image's volume; here a temporary folder plays it.
    env["SMSBOUNCE_DATABASE_URL"] = env["SMSBOUNCE_DATABASE_URL"].replace("/data", str(tmp_path))
    env["SMSBOUNCE_API_PASSWORD"] = "strong-test-password"
    process, server, env = run_image(env, tmp_path)
    try:
        assert healthcheck(env) == 0
        assert send(requests, server, "container-1") == "stored"
        assert (tmp_path / "smsbounce.db").exists()
    finally:
        assert stop(process) == 0
    assert healthcheck(env) != 0


def test_the_entry_point_with_the_compose_environment_on_postgresql(postgres_url, tmp_path):
    env = {
        **image_env(),
        **compose_env("buffer", {"SMSBOUNCE_API_PASSWORD": "strong-test-password"}),
    }
    env["SMSBOUNCE_DATABASE_URL"] = postgres_url  # the compose file's `db`, played by the test's
    process, server, env = run_image(env, tmp_path)
    try:
        assert requests.get(server.url + "/readyz", timeout=10).json()["status"] == "ready"
        assert send(requests, server, "container-pg") == "stored"
        assert [b["messageId"] for b in all_bounces(requests, server)] == ["container-pg"]
    finally:
        assert stop(process) == 0
