"""Helpers for the DI simulator tests: fixtures, a recording callback receiver, send bodies."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from functools import cache
from importlib.resources import files
from urllib.parse import parse_qsl

import requests
from bottle import Bottle, HTTPResponse, request
from jsonschema import Draft202012Validator

from smsbounce.plumbing.local_server import LocalServer
from smsbounce.simulators.di.scenario import Scenario

WAIT = 10.0  # upper bound for any condition a test waits on; never a fixed sleep
AUTH = ("acme", "pw")


def quiet_scenario(**fields) -> Scenario:
    """Everything delivered at once, no faults, fast retries; override any Scenario field."""
    base = {
        "outcomes": (("delivered", 1.0),),
        "retry_delays": (0.05, 0.05),
        "retry_timeout": 2.0,
    }
    return Scenario(**(base | fields))


def send_body(
    recipients: Iterable[str] = ("+4915112345678",),
    text: str = "Hello",
    reply: str | None = None,
    *,
    extra_setup: str = "",
) -> bytes:
    """A DI send body as CPI would write it (docs/spec.md §2.3)."""
    setup = "OriginatingAddress=ACME\nAckType=Message\n"
    if reply is not None:
        setup += f"AckReplyAddress={reply}\nMobileNotification=YES\n"
    return (
        "Version=2.0\nSubject=test\n[MSISDN]\n"
        f"List={','.join(recipients)}\n[MESSAGE]\nText={text}\n[SETUP]\n{setup}{extra_setup}"
        "ValidityPeriod=2d\n[END]\n"
    ).encode()


class Receiver:
    """A callback endpoint on a real server that records every call: method, raw query string,
    parsed query, body, headers and the URL it was called at.

    ``answers`` decides the HTTP status per call (default 200): a callable taking the call's
    number (1-based) and the parsed parameters. ``body`` is the answer's body for a 2xx.
    """

    def __init__(self, answers: Callable[[int, dict], int] | None = None, body: str = "ok"):
        self.calls: list[dict] = []
        self._received = 0
        self._answers = answers or (lambda number, params: 200)
        self._cond = threading.Condition()
        app = Bottle()

        @app.route("/cb", ["GET", "POST"])
        def callback():
            raw = request.environ.get("QUERY_STRING", "")
            params = dict(parse_qsl(raw, keep_blank_values=True))
            content = request.body.read().decode()
            headers = {name.lower(): value for name, value in request.headers.items()}
            with self._cond:
                self._received += 1
                number = self._received
            status = self._answers(number, params)  # may block (timeout tests): not under the lock
            with self._cond:
                self.calls.append(
                    {
                        "method": request.method,
                        "raw": raw,
                        "params": params,
                        "body": content,
                        "headers": headers,
                        "url": request.url,
                        "answer": status,
                    }
                )
                self._cond.notify_all()
            return HTTPResponse(body if status < 300 else "no", status)

        self.server = LocalServer(app)
        self.url = self.server.url + "/cb"

    def wait_for(self, count: int, timeout: float = WAIT) -> list[dict]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} callbacks, got {len(self.calls)}")
            return list(self.calls)

    def stop(self) -> None:
        self.server.stop()


def send(sim, body, auth=AUTH, account="acme"):
    """POST a send body to the simulator's DI API."""
    return requests.post(f"{sim.url}/cmn/{account}/{account}.sms", data=body, auth=auth, timeout=5)


@cache
def control_validator(what: str) -> Draft202012Validator:
    path = files("smsbounce.simulators.di") / "schemas" / f"control-{what}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def control(sim, what, **params):
    """GET /_sim/<what> as JSON, checked against its documented schema."""
    response = requests.get(f"{sim.url}/_sim/{what}", params=params, timeout=WAIT + 5)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    errors = control_validator(what).iter_errors(document)
    problems = [f"{e.json_path}: {e.message}" for e in errors]
    assert not problems, problems
    return document


def settle(sim) -> dict:
    """Wait (bounded) until the simulator has nothing queued, in flight or to retry."""
    summary = control(sim, "summary", wait=WAIT)
    assert summary["idle"], summary
    return summary
