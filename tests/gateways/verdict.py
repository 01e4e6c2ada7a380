"""One verdict per real-gateway run: every failure DLR answered the way the gateway counts as
taken, and served to Marketing with the right messageId, recipient, type, code and reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests

from tests.helpers import all_bounces

from .smsc import Rule, Smsc
from .tap import Call

# The reason a receipt-based bounce is served with: the SMSC's receipt up to its text: part
# (whatever its case), which is the start of the SMS and must never reach Marketing.
RECEIPT = "<the receipt up to text:>"
_TEXT_PART = re.compile(rb"\s*text:.*", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Expected:
    type: str
    status_code: str
    status_text: str = RECEIPT


@dataclass(frozen=True)
class Case:
    """One message: where it goes, what the SMSC does with it, what Marketing must get."""

    label: str
    number: str  # the recipient, E.164 as Marketing sends it
    rule: Rule
    text: str = "Hello from ACME"
    send: dict[str, str] = field(default_factory=dict)  # extra send parameters
    expected: Expected | None = None  # None: not a failure, never served
    served: bool = True  # False: a failure that cannot be served (no recipient: quarantined)


@dataclass
class Verdict:
    sent: int = 0
    failure_dlrs: int = 0
    served: int = 0
    wrong: int = 0
    non_2xx: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def figures(self) -> str:
        return (
            f"messages sent {self.sent}, failure DLRs {self.failure_dlrs}, served {self.served}, "
            f"wrong fields {self.wrong}, not taken {self.non_2xx}"
        )

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        return self.figures + "".join(f"\n- {problem}" for problem in self.problems)


def receipt_reason(smsc: Smsc, number: str) -> str:
    """The receipt the SMSC sent for the message to ``number``, without its text: part."""
    submitted = [s for s in smsc.submitted if s.destination.lstrip("+") == number.lstrip("+")]
    receipts = [smsc.receipts[s.message_id] for s in submitted if s.message_id in smsc.receipts]
    if not receipts:
        return "(the SMSC sent no receipt)"
    return _TEXT_PART.sub(b"", receipts[-1]).decode("ascii", "replace").strip()


def own_id_of(call: Call, id_parameter: str) -> str | None:
    """The message id a call is about: from its query or its form body."""
    target = call.request_line.split(b" ")[1].decode("latin-1")
    values = parse_qs(urlsplit(target).query) | parse_qs(call.body.decode("latin-1"))
    found = values.get(id_parameter)
    return found[0] if found else None


def judge(
    cases: dict[str, Case],
    calls: list[Call],
    served: list[dict],
    smsc: Smsc,
    *,
    id_parameter: str,
    taken: Callable[[Call], bool],
    own_ids: dict[str, str] | None = None,
) -> Verdict:
    """``cases`` by the message id the buffer must serve; ``own_ids`` maps the id a gateway call
    carries to that message id when they differ (Jasmin's ids are its own)."""
    own_ids = own_ids or {}
    verdict = Verdict(sent=len(cases))
    by_id = {item["messageId"]: item for item in served}
    called: dict[str, list[Call]] = {}
    for call in calls:
        message_id = own_ids.get(own_id_of(call, id_parameter) or "", own_id_of(call, id_parameter))
        called.setdefault(message_id or "?", []).append(call)
    for message_id, case in cases.items():
        failure_calls = [c for c in called.get(message_id, []) if case.expected]
        if case.expected is None:
            if message_id in by_id:
                verdict.problems.append(
                    f"{case.label}: not a failure, yet served {by_id[message_id]}"
                )
            continue
        if not failure_calls:
            verdict.problems.append(f"{case.label}: the gateway never called")
            continue
        verdict.failure_dlrs += 1
        not_taken = [c for c in failure_calls if not taken(c)]
        verdict.non_2xx += bool(not_taken)
        if not_taken:
            first = not_taken[0]
            verdict.problems.append(
                f"{case.label}: answered {first.status} {first.answer[:200]!r} to "
                f"{first.request_line[:300]!r}"
            )
        item = by_id.get(message_id)
        if not case.served:
            if item is not None:
                verdict.problems.append(f"{case.label}: must not be served, got {item}")
            continue
        if item is None:
            verdict.problems.append(f"{case.label}: not served")
            continue
        verdict.served += 1
        want = {
            "messageId": message_id,
            "recipient": case.number,
            "type": case.expected.type,
            "statusCode": case.expected.status_code,
            "statusText": (
                receipt_reason(smsc, case.number)
                if case.expected.status_text == RECEIPT
                else case.expected.status_text
            ),
        }
        wrong = {k: (item[k], v) for k, v in want.items() if item[k] != v}
        if case.text.split()[0] in item["statusText"]:
            wrong["statusText (message content)"] = (item["statusText"], "no message content")
        if wrong:
            verdict.wrong += 1
            verdict.problems.append(
                f"{case.label}: "
                + "; ".join(f"{k} {got!r}, want {w!r}" for k, (got, w) in wrong.items())
            )
    return verdict


def judge_buffers(buffers: dict, cases: dict, taps: dict, smsc: Smsc, *, taken) -> dict:
    """Each buffer's ``judge``: its cases, the calls its tap saw, the bounces it serves (gateway
    calls carry the message id as ``id``)."""
    with requests.Session() as session:
        return {
            name: judge(
                cases[name],
                taps[name].calls,
                all_bounces(session, server),
                smsc,
                id_parameter="id",
                taken=taken,
            )
            for name, server in buffers.items()
        }
