"""Marketing's pull (docs/spec.md §2.1): ``GET /api/v1/notifications/get``, one page of bounces."""

from __future__ import annotations

import logging

from bottle import request

from .metrics import Metrics
from .outcomes import OutcomeCounts
from .request_params import parse_query, parse_status_request
from .settings import Settings
from .store import Store

STATUS = "/api/v1/notifications/get"

log = logging.getLogger("smsbounce.buffer")


class PullRoute:
    def __init__(self, settings: Settings, store: Store, metrics: Metrics, outcomes: OutcomeCounts):
        self.settings, self.store, self.metrics, self.outcomes = settings, store, metrics, outcomes

    def install(self, app, auth) -> None:
        app.route(STATUS, "GET", self.page, apply=[auth])

    def page(self):
        """One page of bounces in SAP Marketing's shape. 400 names a bad parameter, 401
        without credentials, 503 when the database does not answer."""
        query = parse_query(request.environ.get("QUERY_STRING", ""))
        wanted = parse_status_request(query, self.settings.max_window_days)
        page = self.store.page(wanted.page, wanted.window)
        self.metrics.observe(page)
        if wanted.page == 0:  # a poll starts: Marketing still polls (buffer/polls.py)
            self._record_poll(wanted)
        log.info(
            "status page=%d window=%s sourceSystem=%s items=%d lastPage=%s",
            wanted.page,
            "all" if wanted.window is None else "..".join(t.isoformat() for t in wanted.window),
            ascii(wanted.source_system),
            len(page.items),
            page.last_page,
        )
        return {"page": str(wanted.page), "lastPage": page.last_page, "status": page.items}

    def _record_poll(self, wanted) -> None:
        reach = None if wanted.window is None else self.store.ingest_span(wanted.window)[1]
        self.outcomes.poll(wanted.source_system, reach)
        self.outcomes.flush_if_due()
