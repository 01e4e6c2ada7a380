"""``python -m cpi_proxy`` (``smsbounce cpi-proxy``) as a real process: start, serve, SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading

import requests
from click.testing import CliRunner

from smsbounce.cpi_proxy.__main__ import main
from tests.cpi_proxy.helpers import Reply, Servers

WAIT = 30


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SMSBOUNCE_CPI_")}


def test_a_bad_setting_stops_the_start_with_a_sentence_naming_it():
    env = {
        **_clean_environ(),
        "SMSBOUNCE_CPI_BUFFER_PASSWORD": "x",
        "SMSBOUNCE_CPI_TIMEOUT": "soon",
    }
    result = CliRunner().invoke(
        main, ["--buffer-url", "http://b", "--provider-url", "http://p"], env=env
    )
    assert result.exit_code == 1
    assert "SMSBOUNCE_CPI_TIMEOUT must be seconds" in result.output


def test_a_missing_buffer_url_is_named():
    result = CliRunner().invoke(main, [], env={**_clean_environ(), "SMSBOUNCE_CPI_BUFFER_URL": ""})
    assert result.exit_code == 1
    assert "SMSBOUNCE_CPI_BUFFER_URL is not set" in result.output


def test_serves_with_options_over_variables_prints_the_url_and_stops_on_sigterm():
    with Servers() as servers:
        buffer = servers.target(lambda seen: Reply(200, "application/json", b'{"ok": true}'))
        env = {
            **_clean_environ(),
            "SMSBOUNCE_CPI_BUFFER_URL": "http://127.0.0.1:9",  # overridden by --buffer-url
            "SMSBOUNCE_CPI_BUFFER_PASSWORD": "buffer-pass",
            "SMSBOUNCE_CPI_WORKERS": "1",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "cpi_proxy", "--buffer-url", buffer.url]
            + ["--provider-url", "http://127.0.0.1:9/cmn/a/a.sms", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read():
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        output, url, password = [], None, None
        try:
            while url is None or password is None:
                line = lines.get(timeout=WAIT)
                assert line is not None, "cpi-proxy exited:\n" + "".join(output)
                output.append(line)
                if "listening on " in line:
                    url = line.split("listening on ", 1)[1].strip()
                if line.startswith("Generated password for user 'marketing'"):
                    password = line.rsplit(": ", 1)[1].strip()

            response = requests.get(
                url + "/http/hybris_sms/status?page=0", auth=("marketing", password), timeout=WAIT
            )
            assert (response.status_code, response.content) == (200, b'{"ok": true}')
            assert buffer.seen[0].raw_query == "page=0"
            assert requests.get(url + "/http/hybris_sms/status", timeout=WAIT).status_code == 401
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=WAIT)
            process.stdout.close()
        assert code == 0, "".join(output)
