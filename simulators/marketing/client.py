"""Marketing's side of the send route: packages of at most 1,000 messages, answers checked.

The package and its answer are docs/spec.md §2.5's stand-in shapes (``marketing-send-request`` and
``marketing-send-response`` in ``contracts/``). What Marketing keeps from an answer is the mapping
from its message id to the provider's id — bounces come back under the provider's id.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from smsbounce import contracts

PACKAGE_LIMIT = 1000  # Marketing's adapter never sends more in one call (docs/spec.md §1)
REQUEST, RESPONSE = "marketing-send-request", "marketing-send-response"
DEFAULT_SENDER = "SMSBOUNCE"
DEFAULT_TEXT = "smsbounce test message {n}"


@dataclass
class SendOutcome:
    """What came back: accepted (Marketing id → provider id), rejected (id → (code, text)) and
    packages that failed as a whole (their ids and why)."""

    accepted: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, tuple[str, str]] = field(default_factory=dict)
    failed: list[tuple[list[str], str]] = field(default_factory=list)

    @property
    def failed_ids(self) -> list[str]:
        return [message_id for ids, _ in self.failed for message_id in ids]

    def mapping(self) -> list[dict]:
        """One JSON-ready row per message, in the order the answers came."""
        rows = [{"messageId": k, "providerMessageId": v} for k, v in self.accepted.items()]
        rows += [
            {"messageId": k, "errorCode": code, "errorText": text}
            for k, (code, text) in self.rejected.items()
        ]
        rows += [{"messageId": k, "failure": why} for ids, why in self.failed for k in ids]
        return rows


class SendFailed(Exception):
    """A package got no usable answer: refused, non-200, not JSON, or breaking the contract."""


def make_messages(
    count: int,
    *,
    run: str,
    seed: int = 0,
    sender: str = DEFAULT_SENDER,
    text: str = DEFAULT_TEXT,
) -> list[dict[str, str]]:
    """``count`` distinct messages with ids ``<run>-<n>`` to seeded German mobile numbers."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    numbers = rng.sample(range(10**8), count)
    return [
        {
            "messageId": f"{run}-{n:06d}",
            "recipient": f"+49151{number:08d}",
            "sender": sender,
            "text": text.format(n=n),
        }
        for n, number in enumerate(numbers, start=1)
    ]


def load_messages(path: str | Path, *, run: str, sender: str = DEFAULT_SENDER) -> list[dict]:
    """Messages from a file: a JSON array of messages (or ``{"messages": [...]}``) in the
    package's shape, or plain text with one E.164 number per line (ids and texts generated).
    ValueError says what is wrong."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith(("[", "{")):
        document = json.loads(text)
        messages = document["messages"] if isinstance(document, dict) else document
    else:
        numbers = [line.strip() for line in text.splitlines() if line.strip()]
        messages = [
            {
                "messageId": f"{run}-{n:06d}",
                "recipient": number,
                "sender": sender,
                "text": DEFAULT_TEXT.format(n=n),
            }
            for n, number in enumerate(numbers, start=1)
        ]
    if not messages:
        raise ValueError(f"{path}: no messages")
    for chunk in packages(messages):
        reasons = contracts.problems(REQUEST, {"version": "1", "messages": chunk})
        if reasons:
            raise ValueError(f"{path}: " + "; ".join(reasons[:5]))
    return messages


def packages(messages: list[dict], size: int = PACKAGE_LIMIT) -> Iterator[list[dict]]:
    """``messages`` in order, in packages of at most ``size``."""
    for first in range(0, len(messages), size):
        yield messages[first : first + size]


def send_package(
    session: requests.Session,
    url: str,
    auth: tuple[str, str],
    messages: list[dict],
    timeout: float = 300.0,
) -> list[dict]:
    """POST one package; the answer's results (one per message, same order). SendFailed else."""
    package = contracts.validate(REQUEST, {"version": "1", "messages": messages})
    try:
        response = session.post(url, json=package, auth=auth, timeout=timeout)
    except requests.RequestException as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise SendFailed(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        answer = response.json()
    except ValueError:
        raise SendFailed(f"the answer is not JSON: {response.text[:120]!r}") from None
    reasons = contracts.problems(RESPONSE, answer)
    if reasons:
        raise SendFailed(f"the answer breaks contract {RESPONSE}: " + "; ".join(reasons[:5]))
    sent = [message["messageId"] for message in messages]
    answered = [result["messageId"] for result in answer["results"]]
    if answered != sent:
        raise SendFailed("the answer's results do not match the package's messages one to one")
    return answer["results"]


def send_messages(
    url: str,
    auth: tuple[str, str],
    messages: list[dict],
    *,
    session: requests.Session | None = None,
    on_package: Callable[[int, SendOutcome], None] | None = None,
    timeout: float = 300.0,
) -> SendOutcome:
    """Send ``messages`` package by package; a failed package is recorded, the rest still go."""
    session = session or requests.Session()
    outcome = SendOutcome()
    for number, chunk in enumerate(packages(messages)):
        try:
            results = send_package(session, url, auth, chunk, timeout)
        except SendFailed as exc:
            outcome.failed.append(([m["messageId"] for m in chunk], str(exc)))
        else:
            for result in results:
                if result["status"] == "accepted":
                    outcome.accepted[result["messageId"]] = result["providerMessageId"]
                else:
                    outcome.rejected[result["messageId"]] = (
                        result["errorCode"],
                        result["errorText"],
                    )
        if on_package is not None:
            on_package(number, outcome)
    return outcome
