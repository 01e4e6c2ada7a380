"""``LocalServer``, the port-0 server of the demo, the simulators and the tests: the same shape
and refusals as the production servers."""

from __future__ import annotations

import os
import signal

import pytest
import requests

from smsbounce import contracts
from smsbounce.plumbing.local_server import LocalServer
from smsbounce.plumbing.serving import CannotListen
from tests.raw_http import json_answer, send_raw


class Observed:
    """A WSGI app that ``ObservesRefusals``."""

    def __init__(self):
        self.refusals = []

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def refused(self, environ, status, seconds):
        self.refusals.append((environ["PATH_INFO"], status))
        return [("X-Refused-By", "observed")]


def test_what_it_refuses_is_json_with_the_apps_headers_and_told_to_it():
    app = Observed()
    with LocalServer(app) as server:
        line = b"GET /long?msisdn=4915112345678&x=" + b"a" * 70000 + b" HTTP/1.1\r\n"
        status, headers, body = json_answer(send_raw(server.url, line + b"Host: x\r\n\r\n"))
    assert status == 414
    assert contracts.validate("error", body)["error"]["status"] == 414
    assert headers["x-refused-by"] == "observed"
    assert app.refusals == [("", 414)]  # the line was not read: no path to tell


def test_a_taken_port_is_told_with_a_sentence():
    with LocalServer(Observed()) as first:
        with pytest.raises(CannotListen, match=f"cannot listen on 127.0.0.1:{first.port}: "):
            LocalServer(Observed(), port=first.port)
        assert requests.get(first.url, timeout=10).text == "ok"


def test_run_serves_until_sigterm():
    server = LocalServer(Observed())
    answers = []

    def on_listening(url: str) -> None:
        answers.append(requests.get(url, timeout=10).text)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    server.run(on_listening)
    assert answers == ["ok"]
    assert signal.getsignal(signal.SIGTERM) is previous
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url, timeout=10)
