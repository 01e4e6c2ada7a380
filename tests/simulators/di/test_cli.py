"""``smsbounce di-sim`` (``python -m simulators.di``): start, serve, stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import requests
from click.testing import CliRunner

from smsbounce.simulators.di.__main__ import main
from smsbounce.simulators.di.ini import parse_answer
from tests.simulators.di.helpers import WAIT, send_body


def test_command_serves_until_sigterm(tmp_path):
    scenario = tmp_path / "all-bounce.json"
    scenario.write_text('{"outcomes": {"0xDB05": 1}}', encoding="utf-8")
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "SMSBOUNCE_DI_USER": "acme",
        "SMSBOUNCE_DI_PASSWORD": "pw",
    }
    command = [sys.executable, "-m", "simulators.di", "--port", "0", "--seed", "5"]
    command += ["--scenario", str(scenario), "--first-order-id", "77"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    # A hung child must not hang the suite: kill it once the bound is reached.
    watchdog = threading.Timer(WAIT, process.kill)
    watchdog.start()
    try:
        first_line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+) \(seed 5\)", first_line)
        assert match, first_line
        url = match.group(1)
        response = requests.post(
            f"{url}/cmn/acme/acme.sms", data=send_body(), auth=("acme", "pw"), timeout=5
        )
        assert parse_answer(response.text) == {"ORDERID": "77"}
        wrong = requests.post(
            f"{url}/cmn/acme/acme.sms", data=send_body(), auth=("acme", "x"), timeout=5
        )
        assert parse_answer(wrong.text)["ERROR"] == "600F"
        messages = requests.get(f"{url}/_sim/messages", timeout=5).json()["messages"]
        assert [m["final_status_code"] for m in messages] == ["0xDB05"]
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=WAIT)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    assert process.returncode == 0
    assert "smsbounce di-sim stopped" in rest


@pytest.mark.parametrize(
    "args, env, message",
    [
        ([], {"SMSBOUNCE_DI_SEED": "many"}, "SMSBOUNCE_DI_SEED must be a whole number"),
        ([], {"SMSBOUNCE_DI_USER": "acme"}, "SMSBOUNCE_DI_PASSWORD is not set"),
        (["--scenario", "/nonexistent.json"], {}, "--scenario: cannot read /nonexistent.json"),
    ],
)
def test_command_refuses_bad_configuration(args, env, message):
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1
    assert message in result.output
