"""A small in-memory status endpoint that is right by default, and the faults that break it.

``ReferenceServer()`` passes every ``smsbounce verify`` check; each fault makes it break one
rule of the contract the way real middleware does (a lost ``+``, a window on the wrong clock, an
off-by-one page). Tests run verify against each and assert that exactly the matching check fails.
It is deliberately not the buffer: verify must judge behaviour, not our implementation.

``ReferenceServer(provider="vonage")`` (also ``jasmin``, ``infobip``) takes that provider's
reports instead of DI's, read here by hand from the providers' documented fields; the faults
named after a provider break what is particular to it.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from datetime import datetime
from importlib.resources import files

from bottle import Bottle, HTTPResponse, parse_auth, request

from smsbounce.contracts.wire import format_utc, parse_utc
from smsbounce.plumbing.local_server import LocalServer

USER, PASSWORD = "marketing", "broken-but-honest"
STATUS, INGEST = "/status", "/ingest"
PAGE_SIZE = 10  # small, so that a small round trip (helpers.SMALL_VOLUME) has several pages
UNEVEN = 6  # the page size after page 0 with "uneven-pages"
SLOW_SECONDS = 1.5

# fault → what it does (the check it must fail is in test_broken.py)
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
    "skip-at-boundary": "each page after the first starts one item late: one lost per boundary",
    "uneven-pages": "page 0 holds 10 items, every later page 6",
    "order-changes-between-reads": "each read of a window from page 0 serves it in a new order",
    "foreign-long-text": "an old row from elsewhere has a 300-character statusText",
    "crash-on-bad-page": "page=abc crashes with 500",
    "no-auth": "the status endpoint serves without credentials",
    "case-sensitive-names": "ingest insists on orderID, so DI's orderid is rejected",
    "lose-plus": "a + lost to URL decoding is not restored",
    "serve-successes": "successes are stored (as Temporary) and served",
    "ignore-window": "every window serves every bounce",
    "last-write-wins": "a later report always replaces the stored one, even a weaker or older one",
    # provider-specific (ReferenceServer(provider=...))
    "vonage-lose-plus": "Vonage's msisdn (digits only) is stored without its +",
    "jasmin-no-ack": "Jasmin reports are answered with JSON instead of ACK/Jasmin",
    "jasmin-serve-successes": "Jasmin's DELIVRD receipts are stored as Temporary and served",
    "infobip-first-of-batch": "only the first report of an Infobip batch is stored",
}
PROVIDERS = ("di", "vonage", "jasmin", "infobip")
# The readable reason Vonage documents for each err-code, as the built-in profile serves it.
VONAGE_REASONS = json.loads(
    (files("smsbounce.buffer.providers") / "profiles" / "vonage.json").read_text()
)["reasons"]
JASMIN_ACK = "ACK/Jasmin"

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
    return parse_utc(text)


class ReferenceServer:
    """``STATUS`` (basic auth) and ``INGEST`` (DI report) on a free port; ``.url``, ``.stop()``."""

    def __init__(self, *faults: str, provider: str = "di"):
        unknown = set(faults) - set(FAULTS)
        assert not unknown, unknown
        assert provider in PROVIDERS, provider
        self.provider = provider
        self.faults = set(faults)
        self.records: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._slow_pending = "first-answer-slow" in self.faults
        self._reads = 0  # page-0 requests so far: each starts a read of a window
        if "foreign-long-text" in self.faults:
            self.records["foreign-1"] = self._row(
                "foreign-1", "+4915100000000", "0xDB62", "x" * 300, "Permanent", "20240101000000"
            )
        self.server = LocalServer(self.app())
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
        app.route(INGEST, ["GET", "POST"], self.ingest)
        app.route(STATUS, "GET", self.status)
        return app

    def ingest(self):
        if self.provider == "di":
            return self.ingest_di()
        rows = getattr(self, "_" + self.provider)()
        results = [self._store(row) if row else "acknowledged" for row in rows]
        if self.provider == "jasmin" and "jasmin-no-ack" not in self.faults:
            return HTTPResponse(JASMIN_ACK, headers={"Content-Type": "text/plain"})
        return {"results": [{"result": result} for result in results]}

    def _store(self, row: dict) -> str:
        with self._lock:
            old = self.records.get(row["record"]["messageId"])
            if old is None or self._replaces(row["record"], old["record"]):
                self.records[row["record"]["messageId"]] = row
                return "stored"
        return "ignored"

    @staticmethod
    def _minutes(text: str) -> str:
        return datetime.strptime(text, "%y%m%d%H%M").strftime("%Y%m%d%H%M%S")

    def _vonage(self) -> list[dict | None]:
        query = request.query.decode()
        status, code = query.get("status"), query.get("err-code")
        if status in ("delivered", "accepted", "buffered"):
            return [None]
        kind = "Temporary" if code in ("2", "7", "8") else "Permanent"
        number = query.get("msisdn")
        if "vonage-lose-plus" not in self.faults:
            number = "+" + number
        text = VONAGE_REASONS.get(code, f"{status} (code {code})")
        stamp = self._minutes(query.get("scts"))
        return [self._row(query.get("messageId"), number, code, text, kind, stamp)]

    def _jasmin(self) -> list[dict | None]:
        form = request.forms.decode()
        status, code = form.get("message_status"), form.get("err")
        if status == "DELIVRD" and "jasmin-serve-successes" in self.faults:
            kind = "Temporary"
        elif status in ("DELIVRD", "ACCEPTD", "ENROUTE"):
            return [None]
        else:
            kind = "Temporary" if status == "EXPIRED" else "Permanent"
        number = request.query.decode().get("to")
        text, stamp = f"{status} (code {code})", self._minutes(form.get("donedate"))
        return [self._row(form.get("id"), number, code, text, kind, stamp)]

    def _infobip(self) -> list[dict | None]:
        results = request.json["results"]
        if "infobip-first-of-batch" in self.faults:
            results = results[:1]
        rows: list[dict | None] = []
        for result in results:
            error = result["error"]
            if result["status"]["groupName"] in ("DELIVERED", "PENDING"):
                rows.append(None)
                continue
            kind = "Permanent" if error["permanent"] else "Temporary"
            done = datetime.strptime(result["doneAt"], "%Y-%m-%dT%H:%M:%S.%f%z")
            stamp = format_utc(done)
            number, code = "+" + result["to"], str(error["id"])
            rows.append(
                self._row(result["messageId"], number, code, error["description"], kind, stamp)
            )
        return rows

    def ingest_di(self):
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
        row = self._row(message_id, number, code or "", text, kind, format_utc(stamp))
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
        if page == 0:
            self._reads += 1
        if "order-changes-between-reads" in self.faults:
            # The same order for every page of one read, another for the next read.
            random.Random(self._reads).shuffle(rows)
        offset, size = page * PAGE_SIZE, PAGE_SIZE
        if "overlapping-pages" in self.faults and page > 0:
            offset -= 1
        if "skip-at-boundary" in self.faults:
            offset += page
        if "uneven-pages" in self.faults and page > 0:
            offset, size = PAGE_SIZE + (page - 1) * UNEVEN, UNEVEN
        chosen = rows[offset : offset + size + 1]
        items = [dict(r["record"]) for r in chosen[:size]]
        last = len(chosen) <= size
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
