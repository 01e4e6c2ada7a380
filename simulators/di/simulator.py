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

from smsbounce.contracts.wire import format_utc

from .dispatcher import (
    ACKNOWLEDGED,
    DROPPED,
    LOST,
    PENDING,
    RETRYING,
    Dispatcher,
    http_send,
)
from .formats import STATUS_CODE_MAX, ReportContext, Stored, make_format
from .ini import DIError, SendRequest
from .scenario import RANK, MessagePlan, PlannedReport, plan_message
from .settings import Settings

NOT_REQUESTED = "not requested"  # the order asked for no reports
FINAL_STATES = (ACKNOWLEDGED, LOST, DROPPED, NOT_REQUESTED)


@dataclass(frozen=True)
class _Message:
    order_id: str
    position: int
    request: SendRequest
    recipient: str
    accepted_at: datetime
    plan: MessagePlan
    items: tuple  # formats.Item per plan report: the report as the provider writes it
    stored: tuple[Stored, ...]  # what the buffer makes of each plan report (same order)
    final: Stored  # ... and of the plan's final outcome
    deliveries: tuple  # Delivery per plan report (same order); empty when no reports wanted


class Simulator:
    """One simulated DI account. Thread-safe; ``close()`` stops the dispatcher's threads."""

    def __init__(self, settings: Settings, send=http_send):
        self.settings = settings
        scenario = settings.scenario
        self.format = make_format(settings.profile, twilio_auth_token=settings.twilio_auth_token)
        self.dispatcher = Dispatcher(
            retry_delays=scenario.retry_delays,
            timeout=scenario.retry_timeout,
            workers=settings.workers,
            send=send,
            report_format=self.format,
            batch=settings.batch,
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

            def context(report: PlannedReport, recipient=recipient, position=position):
                return ReportContext(
                    order_id=order_id,
                    recipient=recipient,
                    position=position,
                    originator=request.originator,
                    sms_text=request.text,
                    accepted_at=accepted_at,
                    planned=report,
                    zone=self.settings.zone,
                )

            stored = tuple(self.format.stored(context(report)) for report in plan.reports)
            final_report = next(r for r in reversed(plan.reports) if r.code == plan.final_code)
            final = self.format.stored(context(final_report))
            items = tuple(self.format.item(context(report)) for report in plan.reports)
            deliveries: tuple = ()
            if request.reply_address is not None:
                chain = list(zip(items, plan.reports, stored, strict=True))
                deliveries = tuple(
                    self.dispatcher.submit(order_id, recipient, request.reply_address, chain)
                )
            with self._lock:
                self._messages.append(
                    _Message(
                        order_id,
                        position,
                        request,
                        recipient,
                        accepted_at,
                        plan,
                        items,
                        stored,
                        final,
                        deliveries,
                    )
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
            "profile": self.format.name,
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

    def profile(self) -> dict:
        """The report format in use and its mapping: DI code → what is sent, what is stored."""
        return self.format.describe()

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
            states = [(NOT_REQUESTED, 0, None, 0)] * len(plan.reports)
            ids = [None] * len(plan.reports)
        rows = list(zip(plan.reports, message.items, message.stored, ids, states, strict=True))
        reports = []
        acknowledged = []  # (acknowledgement order, Stored, stamp)
        for report, item, stored, delivery_id, (state, attempts, acked_at, seq) in rows:
            # A report without an event time is stamped on arrival (Twilio): the second the
            # acknowledged try was sent; the buffer's own clock may be a little later.
            stamp = stored.stamp(acked_at or report.event_time)
            reports.append(
                {
                    "delivery": delivery_id,
                    "status_code": stored.code,
                    "scenario_code": report.code,
                    "type": stored.type,
                    "status": item.summary,
                    "event_time": stamp,
                    "late": report.late,
                    "duplicate": report.duplicate,
                    "raw_plus": item.raw_plus,
                    "state": state,
                    "attempts": attempts,
                }
            )
            if state == ACKNOWLEDGED:
                acknowledged.append((seq, stored, stamp))
        bounce = expected_bounce([(kept, stamp) for _, kept, stamp in sorted(acknowledged)])
        count = Counter(state for state, *_ in states)
        return {
            "order_id": message.order_id,
            "position": message.position,
            "recipient": message.recipient,
            "subject": message.request.subject,
            "originator": message.request.originator,
            "text": message.request.text,
            "accepted_at": format_utc(message.accepted_at),
            "outcome": plan.outcome,
            "final_status_code": message.final.code,
            "final_type": message.final.type,
            "callback": bool(message.deliveries),
            "swapped": plan.swapped,
            "reports": reports,
            "settled": all(state in FINAL_STATES for state, *_ in states),
            "acknowledged": count[ACKNOWLEDGED],
            "dropped": count[DROPPED],
            "lost": count[LOST],
            "expected_bounce": None
            if bounce is None
            else {
                "messageId": message.order_id,
                "recipient": bounce[0].recipient,
                "statusCode": bounce[0].code[:STATUS_CODE_MAX],
                "statusText": bounce[0].text,
                "type": bounce[0].type,
                "timestamp": bounce[1],
            },
        }


def expected_bounce(acknowledged: list[tuple[Stored, str]]) -> tuple[Stored, str] | None:
    """The bounce a buffer holds after taking these reports in this order, or None (docs/spec.md
    §4).

    ``acknowledged``: ``(what the buffer stores, its timestamp)`` in acknowledgement order.
    The buffer's rule: a bounce replaces the held one if its type is more significant
    (Permanent > Temporary), or equal with a strictly newer timestamp at the stored precision.
    Success and intermediate reports are acknowledged but never stored.
    """
    held = None
    for stored, stamp in acknowledged:
        if stored.type not in ("Temporary", "Permanent"):
            continue
        if held is None or (RANK[stored.type], stamp) > (RANK[held[0].type], held[1]):
            held = (stored, stamp)
    return held
