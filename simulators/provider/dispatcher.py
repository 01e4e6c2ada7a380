"""Delivers planned reports to their AckReplyAddress from background threads, with retries.

Each message's reports form a *chain*: a report is first tried only after the previous one of
the same message has had its first try, so the send order the plan decided (including swapped
pairs) is the order on the wire. Retries are independent of the chain — as with a real
provider, a retried report can overtake or trail the next one. A report whose last try fails is
*lost* and counted; nothing is ever retried forever.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from .scenario import PlannedReport

# Report states: pending → (retrying →)* acknowledged | lost; dropped ones are never tried.
PENDING, RETRYING, ACKNOWLEDGED, LOST, DROPPED = (
    "pending", "retrying", "acknowledged", "lost", "dropped",
)  # fmt: skip


def http_send(url: str, timeout: float) -> int:
    """GET ``url`` as DI does (no auth, no redirects); the answer's status code.

    Raises ``requests.RequestException`` on a refused connection or timeout.
    """
    response = requests.get(url, timeout=timeout, allow_redirects=False)
    return response.status_code


@dataclass
class Delivery:
    """One report on its way; mutated only under the dispatcher's lock."""

    id: int
    order_id: str
    recipient: str
    url: str
    report: PlannedReport
    state: str = PENDING
    attempts: int = 0


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class Dispatcher:
    """Timed job queue plus delivery logic; ``close()`` stops its worker threads."""

    def __init__(
        self,
        *,
        retry_delays: tuple[float, ...],
        timeout: float,
        workers: int = 8,
        send: Callable[[str, float], int] = http_send,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._retry_delays = retry_delays
        self._timeout = timeout
        self._send = send
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
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

    def submit(self, order_id: str, recipient: str, urls_and_reports) -> list[Delivery]:
        """Queue one message's reports (``(url, PlannedReport)`` in send order); due times are
        the reports' offsets from now. Returns the deliveries (dropped ones already final)."""
        start = self._clock()
        with self._cond:
            chain = [
                Delivery(next(self._ids), order_id, recipient, url, report)
                for url, report in urls_and_reports
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

        def first_try():
            self._attempt(delivery)
            with self._cond:
                self._schedule_next(chain, index + 1, start)

        self._push(due, first_try)

    def _push(self, due: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, _Job(due, next(self._seq), action))
        self._cond.notify()

    # -- delivering ----------------------------------------------------------------------------

    def _attempt(self, delivery: Delivery) -> None:
        with self._cond:
            delivery.attempts += 1
            attempt = delivery.attempts
        answer, error = None, None
        try:
            answer = self._send(delivery.url, self._timeout)
        except Exception as exc:  # noqa: BLE001 - any failure is a failed try, never a dead worker
            error = f"{type(exc).__name__}: {exc}"
        with self._cond:
            if answer is not None and 200 <= answer < 300:
                delivery.state = ACKNOWLEDGED
            elif attempt <= len(self._retry_delays):
                delivery.state = RETRYING
                retry_at = self._clock() + self._retry_delays[attempt - 1]
                self._push(retry_at, lambda: self._attempt(delivery))
            else:
                delivery.state = LOST
            self._log.append(
                {
                    "delivery": delivery.id,
                    "order_id": delivery.order_id,
                    "recipient": delivery.recipient,
                    "attempt": attempt,
                    "url": delivery.url,
                    "answer": answer,
                    "error": error,
                    "result": delivery.state,
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
                        job = heapq.heappop(self._heap)
                        self._active += 1
                        break
                    self._cond.wait(wait)
            try:
                job.action()
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

    def states(self, deliveries: list[Delivery]) -> list[tuple[str, int]]:
        """``(state, attempts)`` of each delivery, read under the lock."""
        with self._cond:
            return [(d.state, d.attempts) for d in deliveries]

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
