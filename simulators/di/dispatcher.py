"""Delivers planned reports to their AckReplyAddress from background threads, with retries.

Each message's reports form a *chain*: a report is first tried only after the previous one of
the same message has had its first try, so the send order the plan decided (including swapped
pairs) is the order on the wire. Retries are independent of the chain — as with a real
provider, a retried report can overtake or trail the next one. A report whose last try fails is
*lost* and counted; nothing is ever retried forever.

The request itself comes from the report format (``formats.py``): a GET for DI, a signed form
POST for Twilio, JSON for Infobip … A format that batches (Infobip) gets every report due at the
same moment for the same address in one request, up to ``batch``; batching reports are made due
on a grid of ``batch_interval`` seconds so that batches form.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from .formats import DigitalInterconnect, Format, Item, Request, Stored
from .scenario import PlannedReport

# Report states: pending → (retrying →)* acknowledged | lost; dropped ones are never tried.
PENDING, RETRYING, ACKNOWLEDGED, LOST, DROPPED = (
    "pending", "retrying", "acknowledged", "lost", "dropped",
)  # fmt: skip
BATCH_INTERVAL = 0.2
# A format without an event time (Twilio) is stamped by the receiver on arrival, to the second.
# Its tries start only in the first part of a wall-clock second, so that the second the
# simulator records is the receiver's unless the receiver takes longer than the rest of it.
ARRIVAL_WINDOW = 0.6


def http_send(request: Request, timeout: float) -> tuple[int, str]:
    """Send ``request`` as the provider does (no auth, no redirects); status and body.

    Raises ``requests.RequestException`` on a refused connection or timeout.
    """
    response = requests.request(
        request.method,
        request.url,
        data=request.body,
        headers=request.headers,
        timeout=timeout,
        allow_redirects=False,
    )
    return response.status_code, response.text


@dataclass
class Delivery:
    """One report on its way; mutated only under the dispatcher's lock."""

    id: int
    order_id: str
    recipient: str
    address: str
    item: Item
    report: PlannedReport
    stored: Stored | None = None  # what the buffer will make of it (ground truth)
    state: str = PENDING
    attempts: int = 0
    # The acknowledged try: when it was sent (UTC) and its rank among all acknowledgements.
    acknowledged_at: datetime | None = None
    acknowledged_seq: int | None = None

    @property
    def url(self) -> str:
        return self.address


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    delivery: Delivery = field(compare=False)
    then: Callable[[], None] | None = field(compare=False, default=None)  # after a first try


class Dispatcher:
    """Timed job queue plus delivery logic; ``close()`` stops its worker threads."""

    def __init__(
        self,
        *,
        retry_delays: tuple[float, ...],
        timeout: float,
        workers: int = 8,
        send: Callable[[Request, float], tuple[int, str]] = http_send,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        report_format: Format | None = None,
        batch: int = 1,
        batch_interval: float = BATCH_INTERVAL,
    ):
        self._retry_delays = retry_delays
        self._timeout = timeout
        self._send = send
        self._clock = clock
        self._wall_clock = wall_clock
        self._format = report_format or DigitalInterconnect()
        self._batch = batch if self._format.batch else 1
        self._batch_interval = batch_interval
        self._cond = threading.Condition()
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._acks = itertools.count(1)
        self._active = 0
        self._closed = False
        self._deliveries: list[Delivery] = []
        self._log: list[dict] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"di-sim-dispatch-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, order_id: str, recipient: str, address: str, reports) -> list[Delivery]:
        """Queue one message's reports (``(Item, PlannedReport, Stored)`` in send order) to
        ``address``; due times are the reports' offsets from now. Returns the deliveries
        (dropped ones already final)."""
        start = self._clock()
        with self._cond:
            chain = [
                Delivery(next(self._ids), order_id, recipient, address, item, report, stored)
                for item, report, stored in reports
            ]
            for delivery in chain:
                if delivery.report.dropped:
                    delivery.state = DROPPED
            self._deliveries.extend(chain)
            self._schedule_next(chain, 0, start)
        return chain

    def _schedule_next(self, chain: list[Delivery], index: int, start: float) -> None:
        """Queue the first not-dropped delivery from ``index`` on (lock held)."""
        while index < len(chain) and chain[index].state == DROPPED:
            index += 1
        if index == len(chain):
            return
        delivery = chain[index]
        due = max(start + delivery.report.offset, self._clock())
        self._push(due, delivery, lambda: self._schedule_next(chain, index + 1, start))

    def _push(self, due: float, delivery: Delivery, then=None) -> None:
        if self._batch > 1:
            due = math.ceil(due / self._batch_interval) * self._batch_interval
        heapq.heappush(self._heap, _Job(due, next(self._seq), delivery, then))
        self._cond.notify()

    # -- delivering ----------------------------------------------------------------------------

    def _take_batch(self, first: _Job) -> list[_Job]:
        """More jobs due now for the same address, up to the batch size (lock held)."""
        jobs, kept = [first], []
        now = self._clock()
        while len(jobs) < self._batch and self._heap and self._heap[0].due <= now:
            job = heapq.heappop(self._heap)
            (jobs if job.delivery.address == first.delivery.address else kept).append(job)
        for job in kept:
            heapq.heappush(self._heap, job)
        return jobs

    def _arrival_delay(self) -> float:
        """Seconds to wait until a try may start (0: now); see ARRIVAL_WINDOW."""
        if self._format.timestamp != "arrival":
            return 0.0
        fraction = self._wall_clock() % 1.0
        return 0.0 if fraction < ARRIVAL_WINDOW else 1.0 - fraction + 0.005

    def _attempt(self, deliveries: list[Delivery]) -> None:
        with self._cond:
            numbers = []
            for delivery in deliveries:
                delivery.attempts += 1
                numbers.append(delivery.attempts)
        request = self._format.request(deliveries[0].address, [d.item for d in deliveries])
        answer, error, ok = None, None, False
        sent_at = datetime.now(timezone.utc)
        try:
            answer, body = self._send(request, self._timeout)
            ok = self._format.accepted(answer, body)
            if not ok and 200 <= answer < 300:
                error = f"not acknowledged: the answer's body was {body[:80]!r}"
        except Exception as exc:  # noqa: BLE001 - any failure is a failed try, never a dead worker
            error = f"{type(exc).__name__}: {exc}"
        with self._cond:
            for delivery, attempt in zip(deliveries, numbers, strict=True):
                if ok:
                    delivery.state = ACKNOWLEDGED
                    delivery.acknowledged_at = sent_at
                    delivery.acknowledged_seq = next(self._acks)
                elif attempt <= len(self._retry_delays):
                    delivery.state = RETRYING
                    self._push(self._clock() + self._retry_delays[attempt - 1], delivery)
                else:
                    delivery.state = LOST
                self._log.append(
                    {
                        "delivery": delivery.id,
                        "order_id": delivery.order_id,
                        "recipient": delivery.recipient,
                        "attempt": attempt,
                        "method": request.method,
                        "url": request.url,
                        "body": request.text,
                        "batch": len(deliveries),
                        "answer": answer,
                        "error": error,
                        "result": delivery.state,
                        "sent_at": sent_at.isoformat(timespec="milliseconds"),
                        "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                    }
                )

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    wait = self._heap[0].due - self._clock() if self._heap else None
                    if wait is not None and wait <= 0:
                        jobs = self._take_batch(heapq.heappop(self._heap))
                        postpone = self._arrival_delay()
                        if postpone:
                            for job in jobs:
                                job.due = self._clock() + postpone
                                heapq.heappush(self._heap, job)
                            continue
                        self._active += 1
                        break
                    self._cond.wait(wait)
            try:
                self._attempt([job.delivery for job in jobs])
                with self._cond:
                    for job in jobs:
                        if job.then is not None:
                            job.then()
            finally:
                # A job queues its follow-ups before it counts as done, so "idle" never flickers.
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

    # -- observing -----------------------------------------------------------------------------

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and self._active == 0

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or running, at most ``timeout`` seconds; idle or not."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and self._active == 0, timeout)

    def states(self, deliveries: list[Delivery]) -> list[tuple[str, int, datetime | None, int]]:
        """``(state, attempts, acknowledged_at, acknowledged_seq)`` of each delivery, read
        under the lock (the last two None/0 until acknowledged)."""
        with self._cond:
            return [
                (d.state, d.attempts, d.acknowledged_at, d.acknowledged_seq or 0)
                for d in deliveries
            ]

    def attempts(self) -> list[dict]:
        with self._cond:
            return [dict(entry) for entry in self._log]

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers; queued reports are abandoned (a stopped provider sends nothing)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
