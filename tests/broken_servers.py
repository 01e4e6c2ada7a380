"""A small in-memory status endpoint that is right by default, and the faults that break it.

``ReferenceServer()`` passes every ``smsbounce verify`` check; each fault makes it break one
rule of the contract the way real middleware does (a lost ``+``, a window on the wrong clock, an
off-by-one page). Tests run verify against each and assert that exactly the matching check fails.
It is deliberately not the buffer: verify must judge behaviour, not our implementation.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timezone

from bottle import Bottle, HTTPResponse, parse_auth, request

from tests.live_server import LiveServer

USER, PASSWORD = "marketing", "broken-but-honest"
STATUS, INGEST = "/status", "/ingest"
PAGE_SIZE = 100
SLOW_SECONDS = 1.5

# fault → what it does (the check it must fail is in tests/test_verify_broken.py)
FAULTS = {
    "first-answer-slow": "the very first status request takes 1.5 s",
    "crash-on-empty-window": "page 0 of a window without bounces answers 500",
    "text-plain": "pages are served as text/plain",
    "extra-item-field": "items carry an internal ingestTime field",
    "page-off-by-one": "page is echoed as the next page's number",
    "last-page-always-true": "lastPage is true on every page",
    "empty-page-0-not-last": "an empty page 0 says lastPage false",
    "past-end-not-last": "pages past the end say lastPage false",
    "overlapping-pages": "each page after the first starts with the previous page's last item",
    "foreign-long-text": "an old row from elsewhere has a 300-character statusText",
    "crash-on-bad-page": "page=abc crashes with 500",
    "no-auth": "the status endpoint serves without credentials",
    "case-sensitive-names": "ingest insists on orderID, so DI's orderid is rejected",
    "lose-plus": "a + lost to URL decoding is not restored",
    "serve-successes": "successes are stored (as Temporary) and served",
    "ignore-window": "every window serves every bounce",
    "last-write-wins": "a later report always replaces the stored one, even a weaker or older one",
}

_CODE = re.compile(r"^0[xXoO]([0-9A-Fa-f]{4})")
_NOT_BOUNCES = {"0x451A", "0x450E", "0x450A"}
_RANK = {"Temporary": 1, "Permanent": 2}


def _json(body, status: int = 200, content_type: str = "application/json") -> HTTPResponse:
    return HTTPResponse(json.dumps(body), status=status, headers={"Content-Type": content_type})


def _error(status: int, message: str) -> HTTPResponse:
    return _json({"error": {"status": status, "message": message}}, status)


def _utc(text: str | None) -> datetime | None:
    if text is None or len(text) != 14 or not text.isdigit():
        raise ValueError(text)
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


class ReferenceServer:
    """``STATUS`` (basic auth) and ``INGEST`` (DI report) on a free port; ``.url``, ``.stop()``."""

    def __init__(self, *faults: str):
        unknown = set(faults) - set(FAULTS)
        assert not unknown, unknown
        self.faults = set(faults)
        self.records: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._slow_pending = "first-answer-slow" in self.faults
        if "foreign-long-text" in self.faults:
            self.records["foreign-1"] = self._row(
                "foreign-1", "+4915100000000", "0xDB62", "x" * 300, "Permanent", "20240101000000"
            )
        self.server = LiveServer(self.app())
        self.url = self.server.url

    @property
    def status_url(self) -> str:
        return self.url + STATUS

    @property
    def ingest_url(self) -> str:
        return self.url + INGEST

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> ReferenceServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @staticmethod
    def _row(message_id, recipient, code, text, kind, timestamp) -> dict:
        record = {
            "messageId": message_id,
            "recipient": recipient,
            "statusCode": code,
            "statusText": text,
            "type": kind,
            "timestamp": timestamp,
        }
        return {"record": record, "received": time.time()}

    def app(self) -> Bottle:
        app = Bottle()
        app.route(INGEST, "GET", self.ingest)
        app.route(STATUS, "GET", self.status)
        return app

    def ingest(self):
        query = request.query.decode()
        params = {k: query.get(k) for k in query}
        if "case-sensitive-names" not in self.faults:
            params = {k.lower(): v for k, v in params.items()}
            params["orderID"] = params.pop("orderid", None)
        for name in ("orderID", "time", "date", "msisdn", "status"):
            if not params.get(name):
                return _error(400, f"{name} is required")
        number = params["msisdn"].strip()
        status = params["status"].strip().strip("'\"").strip()
        if "lose-plus" not in self.faults and params["msisdn"].startswith(" "):
            status = status.replace(" " + number, "+" + number)
            number = "+" + number
        match = _CODE.match(status)
        code = "0x" + match.group(1).upper() if match else None
        text = status[match.end() :].strip() if match else status
        stamp = datetime.strptime(params["date"] + params["time"], "%d%m%Y%H%M%S")
        message_id = params["orderID"]
        if code is None or code in _NOT_BOUNCES:
            if "serve-successes" not in self.faults:
                return {"result": "acknowledged", "messageId": message_id}
            kind = "Temporary"
        else:
            kind = "Temporary" if code == "0xDBF3" else "Permanent"
        row = self._row(message_id, number, code or "", text, kind, stamp.strftime("%Y%m%d%H%M%S"))
        with self._lock:
            old = self.records.get(message_id)
            if old is None or self._replaces(row["record"], old["record"]):
                self.records[message_id] = row
                return {"result": "stored", "messageId": message_id}
        return {"result": "ignored", "messageId": message_id}

    def _replaces(self, new: dict, old: dict) -> bool:
        if "last-write-wins" in self.faults:
            return new != old
        rank = (_RANK[new["type"]], new["timestamp"])
        return rank > (_RANK[old["type"]], old["timestamp"])

    def status(self):
        if self._slow_pending:
            self._slow_pending = False
            time.sleep(SLOW_SECONDS)  # the fault itself: a slow answer, not synchronisation
        if "no-auth" not in self.faults:
            user, password = parse_auth(request.get_header("Authorization", "")) or ("", "")
            if (user, password) != (USER, PASSWORD):
                return _error(401, "credentials required")
        query = request.query
        page_text = query.get("page", "0")
        if "crash-on-bad-page" in self.faults:
            page = int(page_text)  # the fault: an unchecked int() crashes with 500
        elif not page_text.isdigit():
            return _error(400, "page must be a whole number")
        page = int(page_text)
        start, end = query.get("startTimeUTC"), query.get("endTimeUTC")
        try:
            window = None if start is None and end is None else (_utc(start), _utc(end))
        except ValueError:
            return _error(400, "startTimeUTC and endTimeUTC must both be YYYYMMDDhhmmss")
        with self._lock:
            rows = sorted(
                self.records.values(), key=lambda r: (r["received"], r["record"]["messageId"])
            )
        if window is not None and "ignore-window" not in self.faults:
            low, high = (moment.timestamp() for moment in window)
            rows = [r for r in rows if low <= r["received"] < high]
        offset = page * PAGE_SIZE
        if "overlapping-pages" in self.faults and page > 0:
            offset -= 1
        chosen = rows[offset : offset + PAGE_SIZE + 1]
        items = [dict(r["record"]) for r in chosen[:PAGE_SIZE]]
        last = len(chosen) <= PAGE_SIZE
        if not items and page == 0 and "crash-on-empty-window" in self.faults:
            raise RuntimeError("the fault: no rows")
        if "last-page-always-true" in self.faults:
            last = True
        if not items and page == 0 and "empty-page-0-not-last" in self.faults:
            last = False
        if not items and page > 0 and "past-end-not-last" in self.faults:
            last = False
        if "extra-item-field" in self.faults:
            for item in items:
                item["ingestTime"] = "20260101000000"
        echoed = str(page + 1) if "page-off-by-one" in self.faults else str(page)
        body = {"page": echoed, "lastPage": last, "status": items}
        media = "text/plain" if "text-plain" in self.faults else "application/json"
        return _json(body, content_type=media)
