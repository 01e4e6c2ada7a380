"""`responses` stand-ins for the two HTTP APIs an integrator's own code calls with `requests`:
Digital Interconnect's send API and Marketing's status endpoint (CPI's ``…/hybris_sms/status``).

Both answer in this process, without a socket, and as faithfully as the simulators do:

- ``DigitalInterconnect`` hands each request to the DI simulator's own app (docs/simulators-di.md):
  ``ORDERID=…`` for an order, ``ERROR=600F`` (401), ``6010``/``6017``/``6018``/``6019`` (400) and
  ``8000`` (503) with ``ERRORTEXT`` for the rest; the delivery reports DI would then send are
  recorded, not sent.
- ``StatusEndpoint`` serves the bounces it is given page by page under the status contract
  (docs/spec.md §2.1, `contracts/schemas/status-*.schema.json`): ``page`` echoed as a string,
  ``lastPage`` true only on the last page (and on an empty one, and past the end), windows
  half-open on the time a bounce was received; 400 naming the bad parameter, 401 with
  ``WWW-Authenticate``, and CPI's 500 when told to fail.

``requests`` calls to other URLs raise ``ConnectionError`` (``responses``' rule) unless the
``RequestsMock`` given lets them through.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import responses
from bottle import Bottle, HTTPResponse, request

from smsbounce import contracts
from smsbounce.contracts.wire import format_utc, parse_utc
from smsbounce.plumbing.web import basic_auth_user
from smsbounce.simulators.di.app import create_app as create_di_sim
from smsbounce.simulators.di.formats import Request
from smsbounce.simulators.di.scenario import load_scenario
from smsbounce.simulators.di.settings import Settings as DISettings
from smsbounce.simulators.di.simulator import Simulator

# The mocks' default password: known to the test that uses them, guarding nothing.
PASSWORD = "secret"  # noqa: S105
PAGE_SIZE = 100  # "about 100" (docs/spec.md §2.1); our buffer's default
_JSON = "application/json"


def wsgi_callback(app) -> Callable:
    """A ``responses`` callback that answers a ``PreparedRequest`` with the WSGI ``app``."""

    def callback(prepared):
        parts = urlsplit(prepared.url)
        body = prepared.body or b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        environ = {
            "REQUEST_METHOD": prepared.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(parts.path, encoding="latin-1"),
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "localhost",
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": prepared.headers.get("Content-Type", ""),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in prepared.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[f"HTTP_{key}"] = value
        started = {}

        def start_response(status, headers, exc_info=None):
            started.update(status=int(status.split()[0]), headers=headers)

        chunks = app(environ, start_response)
        try:
            answer = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return started["status"], dict(started["headers"]), answer

    return callback


class _Mock:
    """Registers ``app`` for ``method`` requests under ``base_url`` on ``rsps``, or on a
    ``RequestsMock`` of its own that ``with`` (or ``start``/``stop``) activates. One method
    only: the API's, so a ``RequestsMock`` that asserts every registration was called holds."""

    def __init__(self, app, method: str, base_url: str, rsps: responses.RequestsMock | None):
        self.base_url = base_url.rstrip("/")
        self._own = rsps is None
        self.rsps = rsps or responses.RequestsMock(assert_all_requests_are_fired=False)
        pattern = _prefix(self.base_url)
        self.rsps.add_callback(method, pattern, wsgi_callback(app), content_type=None)

    def start(self):
        if self._own:
            self.rsps.start()
        return self

    def stop(self) -> None:
        if self._own:
            self.rsps.stop()
            self.rsps.reset()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _prefix(base_url: str) -> re.Pattern:
    """Every URL under ``base_url``, with or without a query."""
    return re.compile(re.escape(base_url) + r"(/.*)?(\?.*)?$")


class DigitalInterconnect(_Mock):
    """DI's send API at ``base_url``: ``POST {send_url}`` with basic auth ``(account, password)``
    (``password=None``: any credentials pass, as with the simulator unconfigured).

    ``unavailable`` is the share of orders refused with ``8000`` (1.0: every one). ``orders()``
    is the simulator's ``/_sim/messages``; ``reports(wait)`` the delivery reports DI would send
    to each order's ``AckReplyAddress`` (``Request``: method, url, body, headers), once the
    simulator has planned them all (at most ``wait`` seconds). Call ``close()`` (or leave the
    ``with`` block) to stop the simulator's threads.
    """

    def __init__(
        self,
        rsps: responses.RequestsMock | None = None,
        *,
        base_url: str = "https://di.example",
        account: str = "acme",
        password: str | None = PASSWORD,
        scenario: str | None = None,
        seed: int = 0,
        first_order_id: int = 1_000_000,
        unavailable: float = 0.0,
        profile: str = "di",
    ):
        self.account, self.password = account, password
        self._reports: list[Request] = []
        self._lock = threading.Lock()
        settings = DISettings(
            user=account if password is not None else None,
            password=password,
            scenario=replace(load_scenario(scenario), faults_send_unavailable=unavailable),
            seed=seed,
            first_order_id=first_order_id,
            profile=profile,
            workers=1,
        )
        self.simulator = Simulator(settings, send=self._record)
        super().__init__(create_di_sim(settings, self.simulator), "POST", base_url, rsps)

    @property
    def send_url(self) -> str:
        return f"{self.base_url}/cmn/{self.account}/{self.account}.sms"

    @property
    def auth(self) -> tuple[str, str]:
        return self.account, self.password or "any"

    def orders(self) -> list[dict]:
        return self.simulator.messages()

    def reports(self, wait: float = 10.0) -> list[Request]:
        self.simulator.wait_idle(wait)
        with self._lock:
            return list(self._reports)

    def _record(self, report: Request, timeout: float) -> tuple[int, str]:
        with self._lock:
            self._reports.append(report)
        return 200, "ACK/Jasmin"  # taken, in every format (Jasmin wants these words)

    def close(self) -> None:
        self.simulator.close()

    def stop(self) -> None:
        super().stop()
        self.close()


class StatusEndpoint(_Mock):
    """Marketing's status endpoint at ``url`` (default CPI's ``…/http/hybris_sms/status``),
    with basic ``auth`` (None: open), ``page_size`` entries a page.

    ``add(item, received=…)`` stores a bounce (the six fields of the status contract) as
    received at that moment (default now); ``fail_next(count, status)`` makes the next
    requests fail as CPI fails an exchange (500 with its text). ``requests`` lists every
    query received, in order.
    """

    def __init__(
        self,
        rsps: responses.RequestsMock | None = None,
        *,
        url: str = "https://cpi.example/http/hybris_sms/status",
        auth: tuple[str, str] | None = ("marketing", PASSWORD),
        page_size: int = PAGE_SIZE,
        items: Iterable[dict] = (),
    ):
        self.url, self.auth, self.page_size = url, auth, page_size
        self._held: list[tuple[datetime, dict]] = []
        self._failures: list[int] = []
        self.requests: list[dict[str, str]] = []
        for item in items:
            self.add(item)
        parts = urlsplit(url)
        app = Bottle()
        app.route(parts.path, ["GET"], self._answer)
        super().__init__(app, "GET", f"{parts.scheme}://{parts.netloc}", rsps)

    def add(self, item: dict, received: datetime | None = None) -> None:
        """Hold ``item``; ``ContractViolation`` when it is not a status item."""
        contracts.validate("status-response", {"page": "0", "lastPage": True, "status": [item]})
        when = (received or datetime.now(timezone.utc)).astimezone(timezone.utc)
        self._held.append((when, dict(item)))
        self._held.sort(key=lambda held: (held[0], held[1]["messageId"]))

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        self._failures += [status] * count

    def _answer(self):
        params = dict(request.query.decode().allitems())
        self.requests.append(params)
        if (
            self.auth
            and basic_auth_user(
                request.headers.get("Authorization", ""), {self.auth[0]: self.auth[1]}
            )
            is None
        ):
            headers = {"WWW-Authenticate": 'Basic realm="SAP Cloud Integration"'}
            return _error(401, "authentication required", headers=headers)
        if self._failures:
            status = self._failures.pop(0)
            return HTTPResponse(
                f"An internal server error occured: the receiver answered {status}.",
                status,
                content_type="text/plain; charset=utf-8",
            )
        problems = contracts.problems("status-request", params)
        if problems:
            where, _, message = problems[0].partition(": ")
            # "$.page: …", or "$: 'endTimeUTC' is a dependency of 'startTimeUTC'"
            named = where.removeprefix("$.") if where != "$" else message.split("'")[1]
            return _error(400, message, named)
        page = int(params.get("page", "0"))
        held = self._window(params.get("startTimeUTC"), params.get("endTimeUTC"))
        if held is None:
            return _error(400, "endTimeUTC must not be before startTimeUTC", "endTimeUTC")
        first = page * self.page_size
        body = {
            "page": str(page),
            "lastPage": first + self.page_size >= len(held),
            "status": held[first : first + self.page_size],
        }
        return HTTPResponse(json.dumps(body), 200, content_type=_JSON)

    def _window(self, start: str | None, end: str | None) -> list[dict] | None:
        """The held items in ``[start, end)`` by receive time (all without a window); None
        for a window that ends before it starts."""
        if start is None:
            return [item for _, item in self._held]
        low, high = parse_utc(start), parse_utc(end)
        if high < low:
            return None
        return [item for when, item in self._held if low <= when < high]


def _error(status: int, message: str, parameter: str | None = None, headers=None):
    error = {"status": status, "message": message}
    if parameter:
        error["parameter"] = parameter
    return HTTPResponse(json.dumps({"error": error}), status, content_type=_JSON, **(headers or {}))


def bounce(message_id: str, *, permanent: bool = True, **fields) -> dict:
    """A status item for ``StatusEndpoint.add``: a hard (or soft) bounce of ``message_id``,
    other fields overridable."""
    item = {
        "messageId": message_id,
        "recipient": "+4915112345678",
        "statusCode": "0x4503" if permanent else "0xDBF3",
        "statusText": "out of coverage" if permanent else "the platform is retrying",
        "type": "Permanent" if permanent else "Temporary",
        "timestamp": format_utc(datetime.now(timezone.utc)),
    }
    return {**item, **fields}
