"""The ``generic`` profile: a provider described entirely by a declarative JSON file.

The file (schema ``contracts/schemas/provider-profile.schema.json``) says where the message id,
recipient, time, state, code and text are found, which states and codes mean delivered,
intermediate, soft or hard bounce, and how the provider wants to be answered. Most built-in
profiles are nothing but such a file (``profiles/*.json``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smsbounce import contracts

from ..errors import InvalidParameter
from ..reports import Outcome, Report, in_utc
from .base import Answer, Incoming, Profile, Rejected, make_report

log = logging.getLogger("smsbounce.buffer")

BOUNCES = ("temporary", "permanent")
# Reports one batch request may carry when the profile does not say (provider-profile schema).
DEFAULT_MAX_REPORTS = 100


class ProfileError(ValueError):
    """A profile file is unusable; the message names the file, the key or line, and the problem."""


@dataclass(frozen=True)
class _Field:
    paths: tuple[str, ...]
    pattern: re.Pattern | None = None

    @property
    def name(self) -> str:
        return self.paths[0]

    def read(self, report: Any, query: Mapping[str, str]) -> str | None:
        """The first path present in the report (JSON object or form), else in the URL query."""
        for path in self.paths:
            value = _lookup(report, path)
            if value is None:
                value = query.get(path.lower())
            if value is None:
                continue
            text = _as_text(value)
            if self.pattern is None:
                return text
            match = self.pattern.search(text)
            if match:
                return match.group(1) if match.groups() else match.group(0)
        return None


def _lookup(report: Any, path: str) -> Any:
    """A dotted path into a JSON object; form names are already lower-case."""
    current = report
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current[part] if part in current else current.get(part.lower())
        if current is None:
            return None
    return current


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class GenericProfile(Profile):
    """A profile built from a declarative document (already parsed JSON)."""

    def __init__(self, document: Mapping[str, Any], source: str = "<profile>"):
        reasons = contracts.problems("provider-profile", document)
        if reasons:
            raise ProfileError(f"{source}: " + "; ".join(reasons))
        self.source = source
        self.document = document
        self.name = document["name"]
        self.description = document.get("description", "")
        self.methods = tuple(document.get("methods", ["GET"]))
        self.reports_pointer = document.get("reports")
        self.batch = self.reports_pointer is not None
        self.max_reports = document.get("maxReports", DEFAULT_MAX_REPORTS)
        self.fields = {key: self._field(key, spec) for key, spec in document["fields"].items()}
        time = document.get("time", {})
        self.time_format = time.get("format", "iso8601")
        self.timezone = ZoneInfo(time.get("timezone", "UTC"))
        self.states = self._groups("states", ("delivered", "intermediate") + BOUNCES)
        self.codes = self._groups("codes", ("success", "intermediate") + BOUNCES)
        self.default = Outcome(document.get("default", "Permanent"))
        self.without_plus = document.get("internationalWithoutPlus", False)
        answer = document.get("answer")
        if answer:
            self.answer = Answer(answer.get("status", 200), answer["contentType"], answer["body"])

    @classmethod
    def from_file(cls, path: str | Path) -> GenericProfile:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ProfileError(f"{path}: cannot read: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise ProfileError(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from exc
        return cls(document, str(path))

    def _field(self, key: str, spec: str | Mapping) -> _Field:
        if isinstance(spec, str):
            return _Field((spec,))
        paths = spec["from"]
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        pattern = None
        if "pattern" in spec:
            try:
                pattern = re.compile(spec["pattern"])
            except re.error as exc:
                raise ProfileError(
                    f"{self.source}: fields.{key}.pattern is not a valid regular expression: {exc}"
                ) from None
            if pattern.groups > 1:
                raise ProfileError(
                    f"{self.source}: fields.{key}.pattern may have at most one group (the value)"
                )
        return _Field(paths, pattern)

    def _groups(self, key: str, names: tuple[str, ...]) -> dict[str, frozenset[str]]:
        groups = {
            name: frozenset(v.lower() for v in self.document.get(key, {}).get(name, ()))
            for name in names
        }
        seen: dict[str, str] = {}
        for name, values in groups.items():
            for value in sorted(values):
                if value in seen:
                    raise ProfileError(
                        f"{self.source}: {key}: {value!r} is listed under both "
                        f"{seen[value]} and {name}"
                    )
                seen[value] = name
        return groups

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "fields": dict(self.document["fields"]),
            "states": {k: sorted(v) for k, v in self.states.items() if v},
            "codes": {k: sorted(v) for k, v in self.codes.items() if v},
            "default": self.default.value,
        }

    def parse(self, incoming: Incoming) -> list[Report | Rejected]:
        """The request's reports, each mapped or rejected on its own. Raises Rejected for the
        request as a whole: no list where the profile says, or more reports than it allows."""
        if self.batch:
            reports = _resolve_pointer(incoming.json, self.reports_pointer)
            where = ".".join(self.reports_pointer.strip("/").split("/")) or "body"
            if not isinstance(reports, list):
                raise Rejected(
                    where,
                    f"the body must be JSON with a list of reports at {self.reports_pointer!r}",
                )
            if len(reports) > self.max_reports:
                # Refused whole, before any is mapped: more than the provider ever sends.
                raise Rejected(
                    where,
                    f"{where} holds {len(reports)} reports; {self.name} sends at most "
                    f"{self.max_reports} per request",
                )
            return [self._one(r, incoming.query) for r in reports]
        report = incoming.json if isinstance(incoming.json, Mapping) else {**incoming.form}
        return [self._one(report, incoming.query)]

    def _one(self, report: Any, query: Mapping[str, str]) -> Report | Rejected:
        try:
            return self._map(report, query)
        except InvalidParameter as exc:
            return exc if isinstance(exc, Rejected) else Rejected(exc.parameter, str(exc))
        except Exception:
            # A report this mapping cannot handle is a bug here, not a reason to answer 500:
            # the provider would retry the whole batch and its valid reports would never land.
            log.exception("%s: a report could not be mapped", self.name)
            return Rejected("", "the report could not be mapped; it was logged for the operator")

    def _read(self, key: str, report: Any, query: Mapping[str, str]) -> str | None:
        spec = self.fields.get(key)
        value = spec.read(report, query) if spec else None
        return value.strip() if value is not None else None

    def _map(self, report: Any, query: Mapping[str, str]) -> Report:
        if not isinstance(report, Mapping):
            raise Rejected("", "a report must be a JSON object")
        state = self._read("status", report, query)
        if "status" in self.fields and not state:
            name = self.fields["status"].name
            raise Rejected(name, f"{name} is required")
        code = self._read("code", report, query) or ""
        outcome = self.classify(state, code, self._read("permanent", report, query))
        text = self._read("text", report, query)
        if not text:
            text = " ".join(part for part in (state, code and f"(code {code})") if part)
        recipient = self.fields["recipient"].read(report, query)
        if recipient is not None and (
            recipient[:1].isspace()  # a + lost to URL decoding
            or (self.without_plus and recipient.strip().isdigit())
        ):
            recipient = "+" + recipient.strip()
        return make_report(
            message_id=self._read("messageId", report, query),
            recipient=recipient,
            event_time=self._event_time(report, query),
            code=code,
            text=text,
            outcome=outcome,
            names={k: self.fields[k].name for k in ("messageId", "recipient")},
            raw=json.dumps(report, default=str),
        )

    def classify(self, state: str | None, code: str, permanent_flag: str | None) -> Outcome:
        """Delivered/intermediate by state or code; otherwise a bounce typed by the permanent
        flag, then the code, then the state, then the default. A state the profile does not
        list is not a bounce: acknowledged, never served (a new provider state must not turn
        into hard bounces by surprise)."""
        state, code = (state or "").lower(), code.lower()
        if state and state in self.states["delivered"] or code in self.codes["success"]:
            return Outcome.DELIVERED
        if state and state in self.states["intermediate"] or code in self.codes["intermediate"]:
            return Outcome.INTERMEDIATE
        failed = self.states["temporary"] | self.states["permanent"]
        if state and state not in failed:
            return Outcome.INTERMEDIATE
        if permanent_flag is not None and permanent_flag.lower() in ("true", "false"):
            return Outcome.PERMANENT if permanent_flag.lower() == "true" else Outcome.TEMPORARY
        for group in ("temporary", "permanent"):
            if code and code in self.codes[group] or state in self.states[group]:
                return Outcome.TEMPORARY if group == "temporary" else Outcome.PERMANENT
        return self.default

    def _event_time(self, report: Any, query: Mapping[str, str]) -> datetime:
        value = self._read("time", report, query)
        if not value:
            # No event time in the report: the time it arrived is the best there is.
            return datetime.now(timezone.utc)
        name = self.fields["time"].name
        try:
            if self.time_format == "unix":
                return datetime.fromtimestamp(float(value), timezone.utc)
            if self.time_format == "unix_ms":
                return datetime.fromtimestamp(float(value) / 1000, timezone.utc)
            if self.time_format == "iso8601":
                moment = datetime.fromisoformat(value)
            else:
                moment = datetime.strptime(value, self.time_format)
        except (ValueError, OverflowError, OSError):
            raise Rejected(name, f"{name} is not a time in the format {self.time_format}") from None
        return in_utc(moment if moment.tzinfo else moment.replace(tzinfo=self.timezone), name)


def _resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer; None when the path does not exist."""
    if pointer == "":
        return document
    current = document
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(current, Mapping):
            current = current.get(token)
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return None
    return current
