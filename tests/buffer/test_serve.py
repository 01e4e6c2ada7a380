"""``smsbounce serve`` as an operator runs it: a real process on a real port."""

import subprocess
import sys

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


def test_two_servers_of_one_user_share_no_control_socket(tmp_path):
    # gunicorn 27 puts a control socket in $HOME/.gunicorn by default, one for every server of
    # the user: the second server took it over and stopping either deleted it.
    env = {"HOME": str(tmp_path), "SMSBOUNCE_API_PASSWORD": "control-socket-test"}
    first_db, second_db = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    with ServeProcess({**env, "SMSBOUNCE_DATABASE_URL": first_db}) as first:
        with ServeProcess({**env, "SMSBOUNCE_DATABASE_URL": second_db}) as second:
            assert send(requests, first, "1") == send(requests, second, "2") == "stored"
            assert second.stop() == 0
        assert send(requests, first, "3") == "stored"
        assert first.stop() == 0
    assert not (tmp_path / ".gunicorn").exists()


# Imports the command with psycopg2 made unimportable, as on an install without the extra.
_WITHOUT_DRIVER = (
    "import sys; sys.modules['psycopg2'] = None; "
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
