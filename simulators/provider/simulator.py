"""The simulator's state: accepted orders, their plans, and the ground truth a reconciler needs.

``Simulator.accept`` assigns an order id, plans every recipient (``scenario.plan_message``) and
hands the reports to the ``Dispatcher``. The ``messages``/``reports``/``summary`` views are what
the control API serves (shapes in docs/simulators-di.md).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from .callback import report_url
from .dispatcher import (
    ACKNOWLEDGED,
    DROPPED,
    LOST,
    PENDING,
    RETRYING,
    Dispatcher,
    http_send,
)
from .ini import DIError, SendRequest
from .scenario import MessagePlan, expected_bounce, plan_message
from .settings import Settings

NOT_REQUESTED = "not requested"  # the order asked for no reports
FINAL_STATES = (ACKNOWLEDGED, LOST, DROPPED, NOT_REQUESTED)


def utc_stamp(moment: datetime) -> str:
    """``YYYYMMDDhhmmss`` in UTC, the shape of Marketing's ``timestamp``."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True)
class _Message:
    order_id: str
    position: int
    request: SendRequest
    recipient: str
    accepted_at: datetime
    plan: MessagePlan
    deliveries: tuple  # Delivery per plan report (same order); empty when no reports wanted


class Simulator:
    """One simulated DI account. Thread-safe; ``close()`` stops the dispatcher's threads."""

    def __init__(self, settings: Settings, send=http_send):
        self.settings = settings
        scenario = settings.scenario
        self.dispatcher = Dispatcher(
            retry_delays=scenario.retry_delays,
            timeout=scenario.retry_timeout,
            workers=settings.workers,
            send=send,
        )
        self._lock = threading.Lock()
        self._orders = 0
        self._refused: Counter[str] = Counter()
        self._first_id = settings.first_order_id or int(time.time() * 1000)
        self._messages: list[_Message] = []

    def accept(self, request: SendRequest) -> str:
        """Accept an order and schedule its reports; the order id. DIError 8000 when the
        scenario makes the provider unavailable for this order."""
        with self._lock:
            sequence = self._orders
            self._orders += 1
        seed, scenario = self.settings.seed, self.settings.scenario
        # Seeds are derived from (seed, order number, position), never from timing or ids, so a
        # run with the same seed and the same requests plans the same outcomes.
        if random.Random(f"{seed}/{sequence}").random() < scenario.faults_send_unavailable:  # noqa: S311
            with self._lock:
                self._refused["8000"] += 1
            raise DIError("8000", "the simulated platform is unavailable (faults.send_unavailable)")
        order_id = str(self._first_id + sequence)
        accepted_at = datetime.now(timezone.utc)
        for position, recipient in enumerate(request.recipients, start=1):
            rng = random.Random(f"{seed}/{sequence}/{position}")  # noqa: S311 - simulation only
            plan = plan_message(
                scenario,
                rng,
                order_id=order_id,
                position=position,
                recipient=recipient,
                accepted_at=accepted_at,
            )
            deliveries: tuple = ()
            if request.reply_address is not None:
                urls = [
                    report_url(
                        request.reply_address,
                        order_id=order_id,
                        msisdn=recipient,
                        status=report.status,
                        event_time=report.event_time,
                        zone=self.settings.zone,
                        raw_plus=report.raw_plus,
                    )
                    for report in plan.reports
                ]
                chain = list(zip(urls, plan.reports, strict=True))
                deliveries = tuple(self.dispatcher.submit(order_id, recipient, chain))
            with self._lock:
                self._messages.append(
                    _Message(order_id, position, request, recipient, accepted_at, plan, deliveries)
                )
        return order_id

    def count_refused(self, code: str) -> None:
        with self._lock:
            self._refused[code] += 1

    # -- views for the control API ---------------------------------------------------------

    def messages(self) -> list[dict]:
        """Every accepted message with its plan, delivery states and expected bounce."""
        with self._lock:
            messages = sorted(self._messages, key=lambda m: (int(m.order_id), m.position))
        return [self._describe(message) for message in messages]

    def reports(self) -> list[dict]:
        """Every delivery attempt, in the order they finished."""
        return self.dispatcher.attempts()

    def summary(self) -> dict:
        """Totals, and ``idle``: true when no report is queued, in flight or waiting to retry."""
        idle = self.dispatcher.idle()
        messages = self.messages()
        states: Counter[str] = Counter()
        final_types: Counter[str] = Counter()
        for message in messages:
            final_types[message["final_type"]] += 1
            for report in message["reports"]:
                states[report["state"]] += 1
        with self._lock:
            # Orders refused with 8000 used a sequence number but were never accepted.
            orders, refused = self._orders - self._refused["8000"], dict(self._refused)
        return {
            "idle": idle,
            "orders": orders,
            "refused": refused,
            "messages": len(messages),
            "final_types": {k: final_types[k] for k in ("delivered", "Temporary", "Permanent")}
            | {"intermediate": final_types["intermediate"]},
            "reports": {
                "planned": sum(len(m["reports"]) for m in messages),
                **{s: states[s] for s in (PENDING, RETRYING, ACKNOWLEDGED, LOST, DROPPED)},
                "duplicates": sum(r["duplicate"] for m in messages for r in m["reports"]),
                "late": sum(r["late"] for m in messages for r in m["reports"]),
            },
            "swapped_messages": sum(m["swapped"] for m in messages),
            "attempts": len(self.dispatcher.attempts()),
            "expected_bounces": sum(m["expected_bounce"] is not None for m in messages),
        }

    def wait_idle(self, timeout: float) -> bool:
        return self.dispatcher.wait_idle(timeout)

    def close(self) -> None:
        self.dispatcher.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _describe(self, message: _Message) -> dict:
        plan = message.plan
        if message.deliveries:
            states = self.dispatcher.states(list(message.deliveries))
            ids = [d.id for d in message.deliveries]
        else:
            states = [(NOT_REQUESTED, 0)] * len(plan.reports)
            ids = [None] * len(plan.reports)
        rows = zip(plan.reports, ids, states, strict=True)
        reports = [
            {
                "delivery": delivery_id,
                "status_code": report.code,
                "type": report.type,
                "status": report.status,
                "event_time": utc_stamp(report.event_time),
                "late": report.late,
                "duplicate": report.duplicate,
                "raw_plus": report.raw_plus,
                "state": state,
                "attempts": attempts,
            }
            for report, delivery_id, (state, attempts) in rows
        ]
        pairs = zip(plan.reports, states, strict=True)
        acknowledged = [report for report, (state, _) in pairs if state == ACKNOWLEDGED]
        bounce = expected_bounce(acknowledged)
        count = Counter(state for state, _ in states)
        return {
            "order_id": message.order_id,
            "position": message.position,
            "recipient": message.recipient,
            "subject": message.request.subject,
            "originator": message.request.originator,
            "text": message.request.text,
            "accepted_at": utc_stamp(message.accepted_at),
            "outcome": plan.outcome,
            "final_status_code": plan.final_code,
            "final_type": plan.final_type,
            "callback": bool(message.deliveries),
            "swapped": plan.swapped,
            "reports": reports,
            "settled": all(state in FINAL_STATES for state, _ in states),
            "acknowledged": count[ACKNOWLEDGED],
            "dropped": count[DROPPED],
            "lost": count[LOST],
            "expected_bounce": None
            if bounce is None
            else {
                "messageId": message.order_id,
                "recipient": message.recipient,
                "statusCode": bounce.code,
                "statusText": bounce.text,
                "type": bounce.type,
                "timestamp": utc_stamp(bounce.event_time),
            },
        }
