"""Cloud Foundry: manifest, Procfile, runtime.txt and requirements.txt as the Python buildpack
expects them; PORT, VCAP_APPLICATION and a bound PostgreSQL in VCAP_SERVICES honoured without
any other configuration — and the Procfile's command run here with that environment."""

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import tomllib
import yaml

from smsbounce.buffer.settings import Settings, SettingsError
from tests.helpers import all_bounces, send

ROOT = Path(__file__).resolve().parents[2]
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIID…\n-----END CERTIFICATE-----\n"


def btp_services(
    hostname="pg.example.internal", port="5432", user="u_abc", password="p@ss/w:rd", dbname="db_x"
):
    """VCAP_SERVICES as SAP BTP writes it for a bound `postgresql-db` instance, next to an
    XSUAA binding that must be ignored."""
    return json.dumps(
        {
            "xsuaa": [
                {
                    "label": "xsuaa",
                    "name": "smsbounce-uaa",
                    "tags": ["xsuaa"],
                    "credentials": {"clientid": "sb-x", "clientsecret": "s", "url": "https://x"},
                }
            ],
            "postgresql-db": [
                {
                    "label": "postgresql-db",
                    "provider": None,
                    "plan": "trial",
                    "name": "smsbounce-db",
                    "tags": ["relational", "postgresql"],
                    "instance_guid": "9f1b…",
                    "instance_name": "smsbounce-db",
                    "binding_guid": "2c4d…",
                    "binding_name": None,
                    "credentials": {
                        "username": user,
                        "password": password,
                        "hostname": hostname,
                        "dbname": dbname,
                        "port": port,
                        "sslcert": "",
                        "sslrootcert": CERTIFICATE,
                    },
                    "syslog_drain_url": None,
                    "volume_mounts": [],
                }
            ],
        }
    )


URI_SERVICES = json.dumps(
    {
        "user-provided": [
            {
                "label": "user-provided",
                "name": "logs",
                "tags": [],
                "credentials": {"uri": "syslog://x"},
            }
        ],
        "elephantsql": [
            {
                "label": "elephantsql",
                "name": "db",
                "tags": [],
                "credentials": {"uri": "postgres://a:b@db.example.com:5433/c"},
            }
        ],
    }
)
VCAP_APPLICATION = json.dumps(
    {
        "application_name": "smsbounce",
        "application_uris": ["smsbounce.cfapps.eu10.hana.ondemand.com"],
    }
)


def test_bound_postgresql_from_hostname_and_friends_with_escaped_password():
    settings = Settings.from_env({"VCAP_SERVICES": btp_services()})
    assert (
        settings.database_url == "postgresql://u_abc:p%40ss%2Fw%3Ard@pg.example.internal:5432/db_x"
    )


def test_bound_postgresql_from_a_uri_found_by_its_scheme():
    assert Settings.from_env({"VCAP_SERVICES": URI_SERVICES}).database_url == (
        "postgres://a:b@db.example.com:5433/c"
    )


def test_an_explicit_database_url_wins_and_a_service_can_be_named():
    env = {"VCAP_SERVICES": URI_SERVICES, "SMSBOUNCE_DATABASE_URL": "sqlite:///x.db"}
    assert Settings.from_env(env).database_url == "sqlite:///x.db"
    with pytest.raises(SettingsError, match="no service named 'nope' is bound"):
        Settings.from_env({"VCAP_SERVICES": URI_SERVICES, "SMSBOUNCE_CF_SERVICE": "nope"})
    named = Settings.from_env(
        {"VCAP_SERVICES": btp_services(), "SMSBOUNCE_CF_SERVICE": "smsbounce-db"}
    )
    assert named.database_url.startswith("postgresql://u_abc:")


@pytest.mark.parametrize(
    ("vcap", "sentence"),
    [
        ("{not json", "VCAP_SERVICES is not JSON"),
        ("[]", "VCAP_SERVICES must be a JSON object"),
        (
            json.dumps(
                {"postgresql-db": [{"name": "d", "label": "postgresql-db", "credentials": {}}]}
            ),
            "credentials have neither uri nor hostname",
        ),
    ],
    ids=["not-json", "not-an-object", "no-credentials"],
)
def test_unusable_vcap_services_stop_the_start_with_a_sentence(vcap, sentence):
    with pytest.raises(SettingsError, match=sentence):
        Settings.from_env({"VCAP_SERVICES": vcap})


def test_no_bound_database_falls_back_to_sqlite():
    only_uaa = json.dumps({"xsuaa": [{"label": "xsuaa", "name": "u", "credentials": {}}]})
    assert Settings.from_env({"VCAP_SERVICES": only_uaa}).database_url.startswith("sqlite:///")


def test_on_cloud_foundry_listen_on_every_interface_at_port():
    settings = Settings.from_env({"VCAP_APPLICATION": VCAP_APPLICATION, "PORT": "61234"})
    assert (settings.host, settings.port, settings.on_cloud_foundry) == ("0.0.0.0", 61234, True)
    assert Settings.from_env({}).host == "127.0.0.1"
    pinned = Settings.from_env({"VCAP_APPLICATION": VCAP_APPLICATION, "SMSBOUNCE_HOST": "10.0.0.1"})
    assert pinned.host == "10.0.0.1"


# --- the files the buildpack reads -----------------------------------------------------------


def test_manifest_is_what_cf_push_expects():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    [app] = manifest["applications"]
    assert app["name"] == "smsbounce"
    assert app["buildpacks"] == ["python_buildpack"]
    assert re.fullmatch(r"\d+[MG]", app["memory"]) and re.fullmatch(r"\d+[MG]", app["disk_quota"])
    assert app["health-check-type"] == "http" and app["health-check-http-endpoint"] == "/healthz"
    assert "command" not in app, "the Procfile is the one start command"
    assert app["services"] == ["smsbounce-db"]
    env = {k: str(v) for k, v in app["env"].items()}
    assert all(isinstance(v, str) for v in app["env"].values()), "CF env values must be strings"
    # The manifest's environment must be a valid configuration (on CF, with the bound service).
    settings = Settings.from_env(
        {
            **env,
            "VCAP_APPLICATION": VCAP_APPLICATION,
            "VCAP_SERVICES": btp_services(),
            "PORT": "8080",
        }
    )
    assert settings.database_url.startswith("postgresql://") and settings.retention_days


def test_runtime_and_requirements_are_what_the_python_buildpack_reads():
    runtime = (ROOT / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(1[0-9])\.(x|\d+)", runtime), runtime
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = tuple(int(p) for p in project["requires-python"].removeprefix(">=").split("."))
    assert (3, int(runtime.split(".")[1])) >= minimum
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == [".[postgres]"], "installs this project with its PostgreSQL driver"
    assert "postgres" in project["optional-dependencies"]
    assert "smsbounce" in project["scripts"]


def procfile_command() -> list[str]:
    [web] = [
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    ]
    return shlex.split(web.removeprefix("web:"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_procfile_command_runs_with_a_cf_environment(postgres_url, tmp_path):
    """What the buildpack's launcher does: the web command, with PORT, VCAP_APPLICATION and
    VCAP_SERVICES (the test's PostgreSQL, as hostname/port/… credentials), nothing else."""
    parts = urlsplit(postgres_url)
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PORT": str(port),
        "VCAP_APPLICATION": VCAP_APPLICATION,
        "VCAP_SERVICES": btp_services(
            hostname=parts.hostname,
            port=str(parts.port or 5432),
            user=parts.username or "postgres",
            password=parts.password or "",
            dbname=parts.path.lstrip("/"),
        ),
        "SMSBOUNCE_API_PASSWORD": "cf-secret-password",
        "SMSBOUNCE_WORKERS": "1",
    }
    command = procfile_command()
    assert command[0] == "smsbounce"
    bin_dir = str(Path(sys.executable).parent)
    process = subprocess.Popen(
        command,
        env={**env, "PATH": bin_dir + os.pathsep + env["PATH"]},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in process.stdout:
            if "listening on" in line:
                break
        assert f"listening on http://0.0.0.0:{port}" in line, line
        server = type(
            "Server",
            (),
            {"url": f"http://127.0.0.1:{port}", "auth": ("marketing", "cf-secret-password")},
        )
        assert requests.get(server.url + "/readyz", timeout=10).json()["status"] == "ready"
        assert send(requests, server, "cf-1") == "stored"
        assert [b["messageId"] for b in all_bounces(requests, server)] == ["cf-1"]
        assert not list(tmp_path.glob("*.db")), "the bound PostgreSQL is used, not SQLite"
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
        process.stdout.close()
