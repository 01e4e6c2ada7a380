"""Tools for the Marketing simulator and demo tests: a scriptable status server, ground-truth
builders for reconciliation tables, and a WSGI recorder that keeps every message on the wire."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl

from bottle import Bottle, HTTPResponse, request

from smsbounce import contracts
from smsbounce.plumbing.local_server import LocalServer
from smsbounce.simulators.marketing.interactions import Interaction, to_interaction

MARKETING = ("marketing", "mc-secret")


def item(message_id="1001", kind="Permanent", code="0x4503", timestamp="20260101120000", **extra):
    """A status item (docs/spec.md §2.1) as a buffer serves it."""
    return {
        "messageId": message_id,
        "recipient": extra.pop("recipient", "+4915112345678"),
        "statusCode": code,
        "statusText": extra.pop("statusText", f"{code} text"),
        "type": kind,
        "timestamp": timestamp,
        **extra,
    }


def page(number=0, last=True, items=()):
    return {"page": str(number), "lastPage": last, "status": list(items)}


class StatusServer:
    """A deliberately scriptable ``/status`` on a real server: ``answer(page, params)`` returns
    the JSON document, or ``(http_status, body_text)``. Records every query's parameters."""

    def __init__(self, answer):
        self.answer = answer
        self.queries: list[dict] = []
        app = Bottle()

        @app.get("/status")
        def status():
            params = dict(parse_qsl(request.environ.get("QUERY_STRING", "")))
            self.queries.append(params)
            reply = self.answer(int(params["page"]), params)
            if isinstance(reply, tuple):
                return HTTPResponse(reply[1], reply[0], content_type="text/plain")
            return reply  # Bottle serialises dicts as JSON

        self.server = LocalServer(app)
        self.url = self.server.url + "/status"

    def stop(self):
        self.server.stop()


class SendRoute:
    """A stand-in for CPI's send route: checks each package, answers with ``reply(package)``."""

    def __init__(self, reply=None):
        self.packages: list[dict] = []
        self.reply = reply or self.accept_all
        app = Bottle()

        @app.post("/sms")
        def sms():
            # request.json stops at Bottle's 100 KiB; a package of 1,000 is larger.
            package = contracts.validate("marketing-send-request", json.loads(request.body.read()))
            self.packages.append(package)
            return self.reply(package)

        self.server = LocalServer(app)
        self.url = self.server.url + "/sms"

    @staticmethod
    def accept_all(package):
        results = []
        for message in package["messages"]:
            if message["recipient"].startswith("+4900"):
                results.append(
                    {
                        "messageId": message["messageId"],
                        "status": "rejected",
                        "errorCode": "6019",
                        "errorText": "bad number",
                    }
                )
            else:
                provider_id = "p" + message["messageId"].rsplit("-", 1)[1]
                results.append(
                    {
                        "messageId": message["messageId"],
                        "status": "accepted",
                        "providerMessageId": provider_id,
                    }
                )
        return {"version": "1", "results": results}


def served(*items_, window="w", number=0) -> list[Interaction]:
    """Status items as the poller books them."""
    return [to_interaction(i, window, number) for i in items_]


def report(kind="Permanent", code="0x4503", event_time="20260101120000", state="acknowledged"):
    """One report of a ``/_sim/messages`` entry (only the fields the reconciliation reads)."""
    return {"type": kind, "status_code": code, "event_time": event_time, "state": state}


def truth(order_id="1001", reports=(), expected=None, final_type=None, settled=True):
    """A ``/_sim/messages`` entry. ``expected``: the status item the buffer owes, or None."""
    reports = list(reports)
    if final_type is None:
        final_type = reports[-1]["type"] if reports else "delivered"
    return {
        "order_id": order_id,
        "recipient": "+4915112345678",
        "outcome": "test",
        "final_type": final_type,
        "reports": reports,
        "settled": settled,
        "expected_bounce": expected,
    }


@dataclass
class Exchange:
    service: str
    method: str
    path: str
    query: str
    body: bytes
    status: int
    response: bytes


class Recorder:
    """WSGI middleware factory for ``services.start(wrap=…)``: every request and its answer."""

    def __init__(self):
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def __call__(self, service: str, app):
        def recorded(environ, start_response):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            seen = {}

            def capture(status, headers, exc_info=None):
                seen["status"] = int(status.split()[0])
                return start_response(status, headers, exc_info)

            result = app(environ, capture)
            try:
                chunks = list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            with self._lock:
                self.exchanges.append(
                    Exchange(
                        service,
                        environ["REQUEST_METHOD"],
                        environ["PATH_INFO"],
                        environ.get("QUERY_STRING", ""),
                        body,
                        seen["status"],
                        b"".join(chunks),
                    )
                )
            return chunks

        return recorded

    def of(self, service: str, path_prefix: str = "") -> list[Exchange]:
        with self._lock:
            return [
                e for e in self.exchanges if e.service == service and e.path.startswith(path_prefix)
            ]


def tamper_status(edit):
    """A ``wrap`` for ``services.start`` that passes each JSON answer of the proxy's status route
    through ``edit(document)`` — a broken middle, to prove the reconciliation notices."""

    def wrap(service: str, app):
        if service != "cpi-proxy":
            return app

        def tampered(environ, start_response):
            if not environ["PATH_INFO"].endswith("/status"):
                return app(environ, start_response)
            seen = {}

            def capture(status, headers, exc_info=None):
                seen["status"], seen["headers"] = status, headers
                return lambda data: None

            body = b"".join(app(environ, capture))
            if seen["status"].startswith("200"):
                body = json.dumps(edit(json.loads(body))).encode()
            headers = [(k, v) for k, v in seen["headers"] if k.lower() != "content-length"]
            start_response(seen["status"], headers + [("Content-Length", str(len(body)))])
            return [body]

        return tampered

    return wrap
