"""What Marketing was served against what the provider knows happened (pure).

Inputs: the send answers (Marketing id → provider id), the DI simulator's ground truth
(``/_sim/messages``: every message's reports, their delivery states and ``expected_bounce``, the
item a buffer following docs/spec.md §4 must end up serving, computed from the reports the buffer
acknowledged), and the interactions the poller booked.

Definitions (docs/simulators-marketing.md):

- **state** of a served bounce: ``(messageId, type, statusCode, timestamp)``. The buffer's ranked
  upsert serves a message again when a stronger or newer report replaces it (soft, later hard),
  so a message may legitimately be served several times — with different states; each state
  after a message's first is **served again** (why more can be served than is owed).
- **lost in the middle**: the expected bounce was acknowledged by the buffer (2xx) but its state
  was never served. A failure.
- **served twice**: one state served more than once, or the last state served is not the expected
  one although that was served (an update went backwards). A failure.
- **unexpected**: a served bounce with an unknown messageId, one matching no acknowledged bounce
  report of its message (e.g. a bounce for a delivered message), or the right state with other
  fields (recipient, reason) than the report said. A failure.
- **dropped by the provider**: a report the provider never sent (``dropped``) or gave up on after
  its last retry (``lost``). Expected with a misbehaving provider; not the buffer's fault, and the
  expected bounce already accounts for it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .interactions import Interaction

BOUNCE_TYPES = ("Temporary", "Permanent")
PROVIDER_DROPPED = ("dropped", "lost")


@dataclass
class MessageVerdict:
    provider_id: str
    marketing_id: str | None
    recipient: str
    outcome: str  # the provider's plan, e.g. 0xDBF3>0xDB65
    final_type: str  # delivered / Temporary / Permanent / intermediate
    expected: dict | None
    served: list[Interaction]
    settled: bool
    dropped_reports: int
    lost: bool = False
    twice: bool = False
    unexpected: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def times_served(self) -> int:
        return len(self.served)

    @property
    def served_again(self) -> int:
        """States served after the first: a stronger or newer report replaced the bounce."""
        return max(0, len({i.state for i in self.served}) - 1)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.twice or self.unexpected)


@dataclass
class Reconciliation:
    messages: list[MessageVerdict]
    unknown: list[Interaction]  # served under a messageId no sent message has
    rejected: int = 0  # refused at send by the provider (e.g. DI 6019)
    failed: int = 0  # in packages that got no answer

    @property
    def totals(self) -> dict[str, int]:
        final = Counter(m.final_type for m in self.messages)
        return {
            "sent": len(self.messages) + self.rejected + self.failed,
            "accepted": len(self.messages),
            "rejected": self.rejected,
            "failed": self.failed,
            "delivered": final["delivered"],
            "soft": final["Temporary"],
            "hard": final["Permanent"],
            "intermediate": final["intermediate"],
            "owed": sum(m.expected is not None for m in self.messages),
            "served": sum(m.times_served for m in self.messages) + len(self.unknown),
            "again": sum(m.served_again for m in self.messages),
            "dropped": sum(m.dropped_reports for m in self.messages),
            "lost": sum(m.lost for m in self.messages),
            "twice": sum(m.twice for m in self.messages),
            "unexpected": sum(m.unexpected for m in self.messages) + len(self.unknown),
            "unsettled": sum(not m.settled for m in self.messages),
        }

    @property
    def ok(self) -> bool:
        """Nothing the buffer acknowledged is lost, nothing served twice, nothing unexpected."""
        totals = self.totals
        return totals["lost"] == totals["twice"] == totals["unexpected"] == 0

    def problems(self) -> list[str]:
        lines = [f"{m.provider_id}: {p}" for m in self.messages for p in m.problems]
        unknown = "served, but no message was sent with this id"
        lines += [f"{i.message_id}: {unknown}" for i in self.unknown]
        return lines


def state_of(item: dict) -> tuple[str, str, str, str]:
    """The state of a status item (docs/spec.md §2.1 field names)."""
    return (item["messageId"], item["type"], item["statusCode"], item["timestamp"])


def reconcile(
    truth: list[dict],
    served: list[Interaction],
    marketing_ids: dict[str, str] | None = None,
    *,
    rejected: int = 0,
    failed: int = 0,
) -> Reconciliation:
    """Judge every message of ``truth`` (``/_sim/messages`` entries, one recipient per order)
    against the interactions ``served``; ``marketing_ids`` maps provider id → Marketing id."""
    marketing_ids = marketing_ids or {}
    by_id: dict[str, list[Interaction]] = {}
    for interaction in served:
        by_id.setdefault(interaction.message_id, []).append(interaction)
    known = {message["order_id"] for message in truth}
    unknown = [i for i in served if i.message_id not in known]
    verdicts = [
        judge(message, by_id.get(message["order_id"], []), marketing_ids.get(message["order_id"]))
        for message in truth
    ]
    return Reconciliation(verdicts, unknown, rejected=rejected, failed=failed)


def judge(message: dict, served: list[Interaction], marketing_id: str | None) -> MessageVerdict:
    """One message: what was owed (``expected_bounce``) against what was served, in order."""
    order_id = message["order_id"]
    acknowledged = {
        (order_id, r["type"], r["status_code"], r["event_time"])
        for r in message["reports"]
        if r["state"] == "acknowledged" and r["type"] in BOUNCE_TYPES
    }
    verdict = MessageVerdict(
        provider_id=order_id,
        marketing_id=marketing_id,
        recipient=message["recipient"],
        outcome=message["outcome"],
        final_type=message["final_type"],
        expected=message["expected_bounce"],
        served=served,
        settled=message["settled"],
        dropped_reports=sum(r["state"] in PROVIDER_DROPPED for r in message["reports"]),
    )
    states = [interaction.state for interaction in served]
    for state, count in Counter(states).items():
        if count > 1:
            verdict.twice = True
            verdict.problems.append(f"{_show(state)} served {count} times")
    for interaction in served:
        if interaction.state not in acknowledged:
            verdict.unexpected += 1
            verdict.problems.append(
                f"{_show(interaction.state)} served, but no such bounce report was acknowledged"
            )
    expected = verdict.expected
    if expected is not None:
        wanted = state_of(expected)
        if wanted not in states:
            verdict.lost = True
            verdict.problems.append(f"{_show(wanted)} acknowledged by the buffer, never served")
        elif states[-1] != wanted:
            verdict.twice = True
            verdict.problems.append(
                f"{_show(wanted)} was served, then {_show(states[-1])} replaced it"
            )
        for interaction in served:
            if interaction.state == wanted and (
                interaction.recipient != expected["recipient"]
                or interaction.reason != expected["statusText"]
            ):
                verdict.unexpected += 1
                verdict.problems.append(
                    f"{_show(wanted)} served as recipient {interaction.recipient!r}, reason "
                    f"{interaction.reason!r}; the report said {expected['recipient']!r}, "
                    f"{expected['statusText']!r}"
                )
    if not verdict.settled:
        verdict.problems.append("the provider had not settled this message's reports")
    return verdict


def _show(state: tuple[str, str, str, str]) -> str:
    _, kind, code, timestamp = state
    return f"{kind} {code} at {timestamp}"
