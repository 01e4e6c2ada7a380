"""The whole flow once: Marketing sends, the provider reports, Marketing polls until every report
has settled, then what was served is reconciled with the provider's ground truth.

"Settled" is decided, not waited out: the DI simulator says when it is idle (nothing queued, in
flight or waiting to retry). Every report it counts as acknowledged was committed by the buffer
before that moment (the buffer answers 2xx after its commit), so one more poll window ending
later than that moment plus the settle lag must have served all of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests

from smsbounce.contracts.wire import format_utc
from smsbounce.simulators.marketing.client import SendOutcome, make_messages, send_messages
from smsbounce.simulators.marketing.poller import Poller
from smsbounce.simulators.marketing.reconcile import Reconciliation, reconcile
from smsbounce.simulators.marketing.report import counted
from smsbounce.simulators.marketing.windows import whole_second

from .services import Services

POLL_EVERY = 0.5  # seconds between windows once the provider is idle


@dataclass
class FlowResult:
    sent: SendOutcome
    poller: Poller
    reconciliation: Reconciliation
    summary: dict  # the simulator's last /_sim/summary
    seconds: float
    timed_out: bool

    @property
    def ok(self) -> bool:
        """Exit status 0: nothing lost, served twice or unexpected; every page honoured the
        contract; every package was answered; the provider settled in time."""
        return (
            self.reconciliation.ok
            and not self.poller.violations
            and not self.sent.failed
            and not self.timed_out
        )


def run(
    services: Services,
    count: int,
    *,
    seed: int = 0,
    timeout: float = 120.0,
    progress: Callable[[str], None] = lambda line: None,
) -> FlowResult:
    """Send ``count`` messages through the proxy, poll until settled, reconcile."""
    began = time.monotonic()
    deadline = began + timeout
    session = requests.Session()
    since = whole_second(datetime.now(timezone.utc))
    run_id = "demo" + format_utc(since)
    messages = make_messages(count, run=run_id, seed=seed)
    poller = Poller(services.status_url, services.marketing_auth, since, source_system="DEMO")

    outcome: list[SendOutcome] = []
    sender = threading.Thread(
        target=lambda: outcome.append(
            send_messages(services.send_url, services.marketing_auth, messages)
        ),
        name="demo-send",
        daemon=True,
    )
    sender.start()
    stop = threading.Event()
    idle_at: datetime | None = None
    summary: dict = {}
    timed_out = False
    while True:
        sending = sender.is_alive()
        if sending:
            sender.join(timeout=1.0)  # bounded: progress keeps coming while a package is out
        if idle_at is None:
            # ?wait returns as soon as the provider is idle, else after a second.
            summary = _summary(session, services, wait=0 if sending else 1)
            if not sending and summary["idle"]:
                idle_at = datetime.now(timezone.utc)
        result = poller.tick()
        progress(_progress(time.monotonic() - began, count, summary, poller, idle_at))
        final = idle_at is not None and result is not None and result.failure is None
        if final and result.end > idle_at + timedelta(seconds=services.settle_lag):
            break
        if time.monotonic() > deadline:
            timed_out = True
            summary = _summary(session, services, wait=0)
            break
        if idle_at is not None:
            # Waiting for the clock to pass idle_at + lag: a schedule, not a synchronisation.
            stop.wait(POLL_EVERY)
    sender.join(timeout=max(0.0, deadline - time.monotonic()))
    sent = outcome[0] if outcome else SendOutcome(failed=[([], "the send did not finish")])
    truth = _get(session, services.di_sim.url + "/_sim/messages")["messages"]
    reconciliation = reconcile(
        truth,
        poller.interactions,
        {provider: marketing for marketing, provider in sent.accepted.items()},
        rejected=len(sent.rejected),
        failed=len(sent.failed_ids),
    )
    return FlowResult(sent, poller, reconciliation, summary, time.monotonic() - began, timed_out)


def _summary(session: requests.Session, services: Services, wait: float) -> dict:
    return _get(session, f"{services.di_sim.url}/_sim/summary?wait={wait:g}")


def _get(session: requests.Session, url: str) -> dict:
    response = session.get(url, timeout=90)
    response.raise_for_status()
    return response.json()


def _progress(seconds, count, summary, poller, idle_at) -> str:
    reports = summary.get("reports", {})
    orders = summary.get("orders", 0)
    state = "settled, final poll" if idle_at else "running"
    served = len(poller.interactions)
    return (
        f"[{seconds:5.1f} s] sent {orders}/{count} · reports {reports.get('acknowledged', 0)} "
        f"acknowledged, {reports.get('pending', 0)} pending, {reports.get('retrying', 0)} "
        f"retrying · {counted(poller.windows, 'window')}, {counted(served, 'bounce')} served · "
        f"{state}"
    )
