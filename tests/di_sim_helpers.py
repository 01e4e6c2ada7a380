"""Helpers for the DI simulator tests: a recording callback receiver and send bodies."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from bottle import Bottle, HTTPResponse, request

from simulators.provider.scenario import Scenario
from tests.live_server import LiveServer

WAIT = 10.0  # upper bound for any condition a test waits on; never a fixed sleep


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
    """A DI send body as CPI would write it (SPEC §2.3)."""
    setup = "OriginatingAddress=ACME\nAckType=Message\n"
    if reply is not None:
        setup += f"AckReplyAddress={reply}\nMobileNotification=YES\n"
    return (
        "Version=2.0\nSubject=test\n[MSISDN]\n"
        f"List={','.join(recipients)}\n[MESSAGE]\nText={text}\n[SETUP]\n{setup}{extra_setup}"
        "ValidityPeriod=2d\n[END]\n"
    ).encode()


class Receiver:
    """A callback endpoint on a real server that records every call's raw query string.

    ``answers`` decides the HTTP status per call (default 200): a callable taking the call's
    number (1-based) and the parsed parameters.
    """

    def __init__(self, answers: Callable[[int, dict], int] | None = None):
        self.calls: list[dict] = []
        self._answers = answers or (lambda number, params: 200)
        self._cond = threading.Condition()
        app = Bottle()

        @app.get("/cb")
        def callback():
            raw = request.environ.get("QUERY_STRING", "")
            params = dict(parse_qsl(raw, keep_blank_values=True))
            with self._cond:
                number = len(self.calls) + 1
                status = self._answers(number, params)
                self.calls.append({"raw": raw, "params": params, "answer": status})
                self._cond.notify_all()
            return HTTPResponse("ok" if status < 300 else "no", status)

        self.server = LiveServer(app)
        self.url = self.server.url + "/cb"

    def wait_for(self, count: int, timeout: float = WAIT) -> list[dict]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} callbacks, got {len(self.calls)}")
            return list(self.calls)

    def stop(self) -> None:
        self.server.stop()
