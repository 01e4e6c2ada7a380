"""``smsbounce serve`` as an operator runs it: a real process on a real port."""

import subprocess

import pytest
import requests

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
    assert not any("password" in line.lower() for line in server.output)


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
