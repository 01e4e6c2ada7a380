"""What happens to each message, pure and seeded: outcome rules, report texts, faults, quirks.

A scenario is a JSON document (``scenario.schema.json``; format in docs/simulators-di.md).
``plan_message`` turns one recipient of one order into the reports DI will send, in send order,
with their event times and faults already decided. Every decision comes from the ``random.Random``
it is given, so a seed fixes the whole plan; only thread timing is left to chance.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DELIVERED = "0x451A"
TEMPORARY = "0xDBF3"
INTERMEDIATE = ("0x450E", "0x450A")
PERMANENT = (
    "0x4503", "0x4524", "0xDB05", "0xDB52", "0xDB62", "0xDB65", "0xDB76", "0xDB78", "0xDB99",
)  # fmt: skip

# Ranks as the buffer ranks reports (docs/spec.md §4): a later report only replaces a weaker one.
RANK = {"delivered": 0, "intermediate": 0, "Temporary": 1, "Permanent": 2}

_PREFIX = "Message {n} of the order {order} at destination of {msisdn}"
DEFAULT_TEXTS = {
    "0x450E": _PREFIX + " has been accepted by the platform",
    "0x450A": _PREFIX + " has been acknowledged by the SMSC",
    "0x451A": _PREFIX + " has been delivered to the handset",
    "0xDBF3": _PREFIX + " could not be delivered yet, the platform is retrying",
    "0x4503": _PREFIX + " is out of coverage",  # the article's text
    "0x4524": _PREFIX + " is blacklisted",
    "0xDB05": _PREFIX + " is barred",
    "0xDB52": _PREFIX + " could not be delivered",
    "0xDB62": _PREFIX + " could not be delivered by the operator",
    "0xDB65": _PREFIX + " has expired, the validity period elapsed",
    "0xDB76": _PREFIX + " is not permitted for this service",
    "0xDB78": _PREFIX + " could not be delivered, the account is out of credit",
    "0xDB99": _PREFIX + " is a ported number",
}
FALLBACK_TEXT = _PREFIX + " failed with error {code}"

_SCHEMA_FILE = files(__package__) / "schemas" / "scenario.schema.json"
_DEFAULT_FILE = files(__package__) / "scenarios" / "default.json"


class ScenarioError(ValueError):
    """A scenario file cannot be used; the message says which key and why."""


def status_type(code: str) -> str:
    """``delivered``, ``intermediate``, ``Temporary`` or ``Permanent`` for a DI code."""
    if code == DELIVERED:
        return "delivered"
    if code in INTERMEDIATE:
        return "intermediate"
    return "Temporary" if code == TEMPORARY else "Permanent"


@dataclass(frozen=True)
class Rule:
    prefix: str
    outcomes: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario; field names follow the JSON keys (nested keys joined by ``_``)."""

    description: str = ""
    outcomes: tuple[tuple[str, float], ...] = (("delivered", 1.0),)
    rules: tuple[Rule, ...] = ()
    intermediate: tuple[tuple[str, float], ...] = ()
    texts: tuple[tuple[str, str], ...] = ()
    timing_delay: float = 0.0
    timing_jitter: float = 0.0
    timing_gap: float = 0.0
    timing_temporary_gap: float = 0.0
    faults_duplicate: float = 0.0
    faults_out_of_order: float = 0.0
    faults_drop: float = 0.0
    faults_send_unavailable: float = 0.0
    faults_late_probability: float = 0.0
    faults_late_min_age: float = 600.0
    faults_late_max_age: float = 7200.0
    quirks_raw_plus: float = 0.0
    quirks_quoted_status: float = 0.0
    quirks_letter_o: float = 0.0
    quirks_uncoded_success: float = 0.0
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    retry_timeout: float = 5.0

    @classmethod
    def from_document(cls, document: Any) -> Scenario:
        """Build from a parsed JSON document; ScenarioError lists every problem."""
        reasons = [
            f"{e.json_path}: {e.message}"
            for e in sorted(_validator().iter_errors(document), key=lambda e: e.json_path)
        ]
        if reasons:
            raise ScenarioError("; ".join(reasons))
        fields: dict[str, Any] = {
            "description": document.get("description", ""),
            "outcomes": _weights(document.get("outcomes", {"delivered": 1}), "$.outcomes"),
            "rules": tuple(
                Rule(rule["prefix"], _weights(rule["outcomes"], f"$.rules[{i}].outcomes"))
                for i, rule in enumerate(document.get("rules", ()))
            ),
            "intermediate": tuple(document.get("intermediate", {}).items()),
            "texts": tuple(document.get("texts", {}).items()),
        }
        for group in ("timing", "faults", "quirks", "retry"):
            for key, value in document.get(group, {}).items():
                if isinstance(value, dict):  # faults.late
                    for inner, number in value.items():
                        fields[f"{group}_{key}_{inner}"] = number
                elif isinstance(value, list):
                    fields[f"{group}_{key}"] = tuple(value)
                else:
                    fields[f"{group}_{key}"] = value
        for code, template in fields["texts"]:
            try:
                template.format(n=1, order="1", msisdn="+1", code=code)
            except (KeyError, IndexError, ValueError) as exc:
                raise ScenarioError(
                    f"$.texts.{code}: only {{n}}, {{order}}, {{msisdn}} and {{code}} may appear "
                    f"in braces ({exc!r})"
                ) from None
        if fields.get("faults_late_min_age", 600.0) > fields.get("faults_late_max_age", 7200.0):
            raise ScenarioError("$.faults.late: min_age must not exceed max_age")
        return cls(**fields)

    def text_for(self, code: str) -> str:
        return dict(self.texts).get(code, DEFAULT_TEXTS.get(code, FALLBACK_TEXT))

    def outcomes_for(self, recipient: str) -> tuple[tuple[str, float], ...]:
        """Weights of the first rule whose prefix the recipient starts with, else the default."""
        for rule in self.rules:
            if recipient.startswith(rule.prefix):
                return rule.outcomes
        return self.outcomes


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load a scenario file (the packaged ``scenarios/default.json`` when ``path`` is None)."""
    source = _DEFAULT_FILE if path is None else Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path} is not JSON (line {exc.lineno}: {exc.msg})") from exc
    try:
        return Scenario.from_document(document)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from exc


@dataclass(frozen=True)
class PlannedReport:
    """One report as DI will send it. ``offset`` is seconds after acceptance when it is due."""

    code: str
    text: str  # without the code, quotes or letter O: what the buffer should end up storing
    status: str  # the status parameter exactly as sent
    event_time: datetime
    offset: float
    raw_plus: bool = False
    late: bool = False
    dropped: bool = False
    duplicate: bool = False

    @property
    def type(self) -> str:
        return status_type(self.code)


@dataclass(frozen=True)
class MessagePlan:
    outcome: str  # as written in the scenario, e.g. "0xDBF3>delivered"
    final_code: str
    reports: tuple[PlannedReport, ...]  # in send order, duplicates and dropped ones included
    swapped: bool = False  # two neighbouring reports go out in the wrong order

    @property
    def final_type(self) -> str:
        return status_type(self.final_code)


def choose(rng: random.Random, weights: tuple[tuple[str, float], ...]) -> str:
    """One key of ``weights`` drawn with its relative weight."""
    keys = [key for key, _ in weights]
    return rng.choices(keys, weights=[weight for _, weight in weights])[0]


def plan_message(
    scenario: Scenario,
    rng: random.Random,
    *,
    order_id: str,
    position: int,
    recipient: str,
    accepted_at: datetime,
) -> MessagePlan:
    """Decide outcome, reports, event times, faults and quirks of one recipient of one order.

    Draws from ``rng`` in a fixed order whatever the probabilities are, so changing one fault's
    probability does not reshuffle unrelated decisions of other messages.
    """
    outcome = choose(rng, scenario.outcomes_for(recipient))
    codes = [code for code, p in scenario.intermediate if rng.random() < p]
    codes += [DELIVERED if step == "delivered" else step for step in outcome.split(">")]

    reports: list[PlannedReport] = []
    offset = scenario.timing_delay + scenario.timing_jitter * rng.random()
    fill = {"n": position, "order": order_id, "msisdn": recipient}
    for code in codes:
        text = scenario.text_for(code).format(code=code, **fill)
        late = rng.random() < scenario.faults_late_probability
        age = rng.uniform(scenario.faults_late_min_age, scenario.faults_late_max_age)
        dropped = rng.random() < scenario.faults_drop
        duplicated = rng.random() < scenario.faults_duplicate
        raw_plus = rng.random() < scenario.quirks_raw_plus
        quoted = rng.random() < scenario.quirks_quoted_status
        letter_o = rng.random() < scenario.quirks_letter_o
        uncoded = rng.random() < scenario.quirks_uncoded_success and code == DELIVERED
        status = text if uncoded else f"{'Ox' if letter_o else '0x'}{code[2:]} {text}"
        report = PlannedReport(
            code=code,
            text=text,
            status=f"'{status}'" if quoted else status,
            event_time=accepted_at + timedelta(seconds=offset - (age if late else 0.0)),
            offset=offset,
            raw_plus=raw_plus,
            late=late,
            dropped=dropped,
        )
        reports.append(report)
        if duplicated and not dropped:
            reports.append(replace(report, duplicate=True))
        gap = scenario.timing_temporary_gap if code == TEMPORARY else scenario.timing_gap
        offset += gap + scenario.timing_jitter * rng.random()

    swap = rng.random() < scenario.faults_out_of_order
    where = rng.random()
    if swap and len(reports) >= 2:
        # Swap the send order (and due times) of two neighbours; event times stay true, so the
        # receiver sees the newer event first.
        i = int(where * (len(reports) - 1))
        first, second = reports[i], reports[i + 1]
        reports[i] = replace(second, offset=first.offset)
        reports[i + 1] = replace(first, offset=second.offset)
    else:
        swap = False
    return MessagePlan(outcome, codes[-1], tuple(reports), swapped=swap)


def _weights(mapping: dict[str, float], where: str) -> tuple[tuple[str, float], ...]:
    if not sum(mapping.values()) > 0:
        raise ScenarioError(f"{where}: at least one outcome needs a weight above 0")
    return tuple(mapping.items())


@cache
def _validator() -> Draft202012Validator:
    """The scenario schema, loaded and checked against the meta-schema once, on first use."""
    schema = json.loads(_SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
