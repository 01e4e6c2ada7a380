"""The ``generic`` profile: a provider described entirely by a declarative JSON file.

The file (schema ``contracts/schemas/provider-profile.schema.json``) says where the message id,
recipient, time, state, detail, code and text are found, which states, details and codes mean
delivered, intermediate, soft or hard bounce, what to say when a bounce carries no text, and how
the provider wants to be answered. Most built-in profiles are nothing but such a file
(``profiles/*.json``).

A bounce whose recipient or time cannot be read is not refused: it comes back ``Quarantined``
(docs/spec.md §4); a report in which the mapping finds no message id or no state comes back
``Unmappable``, which ``intake`` keeps for ``smsbounce replay``. 400 stays for what cannot be a
report of the provider at all: a value no provider sends, a body that is not its format.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smsbounce import contracts

from ..errors import InvalidParameter
from ..reports import (
    Classified,
    Outcome,
    Rejected,
    Report,
    Seen,
    Unmappable,
    Unreadable,
    checked_message_id,
    format_utc,
    in_utc,
    make_report,
    reason_text,
)
from ..request_params import parse_json
from .base import Answer, Incoming, Profile, Quarantined
from .signatures import Signature

log = logging.getLogger("smsbounce.buffer")

BOUNCES = ("temporary", "permanent")
# Reports one batch request may carry when the profile does not say (provider-profile schema).
DEFAULT_MAX_REPORTS = 100
WILDCARD = "*"  # a listed value ending in * matches every value that starts with the rest


class ProfileError(ValueError):
    """A profile file is unusable; the message names the file, the key or line, and the problem."""


@dataclass(frozen=True)
class _Field:
    paths: tuple[str, ...]
    patterns: tuple[re.Pattern, ...] = ()
    # Each path split into its steps (``to[0].status`` -> ``to``, ``0``, ``status``).
    steps: tuple[tuple[str, ...], ...] = ()

    @property
    def name(self) -> str:
        return self.paths[0]

    def read(self, report: Any, query: Mapping[str, str]) -> str | None:
        """The first path present in the report (JSON object or form), else in the URL query;
        with patterns, the first pattern that matches (its one group, or the whole match)."""
        return next(self.values(report, query), None)

    def values(self, report: Any, query: Mapping[str, str]) -> Iterator[str]:
        """Every value ``read`` could give, in order: a time tries them until one reads."""
        for path, steps in zip(self.paths, self.steps, strict=True):
            value = _lookup(report, steps)
            if value is None:
                value = query.get(path.lower())
            if value is None:
                continue
            text = _as_text(value)
            if not self.patterns:
                yield text
                continue
            for pattern in self.patterns:
                match = pattern.search(text)
                if match:
                    yield match.group(1) if match.groups() else match.group(0)
                    break


# A list element in a path: ``to[0]`` (or ``to.0``) is the first element of the list ``to``.
_INDEX = re.compile(r"\[([0-9]+)\]")


def path_steps(path: str, where: str) -> tuple[str, ...]:
    """``data.payload.to[0].status`` -> its steps; ProfileError (``where`` names the key) for a
    bracket that is no list index, e.g. ``to[]`` or ``to[*]``."""
    dotted = _INDEX.sub(r".\1", path)
    if "[" in dotted or "]" in dotted:
        raise ProfileError(
            f"{where}: {path!r} is no path: a list element is written [0], [1], … "
            "(e.g. data.payload.to[0].status)"
        )
    return tuple(dotted.split("."))


def _lookup(report: Any, steps: tuple[str, ...]) -> Any:
    """A path into a JSON object (names, and list indexes as digits); form names are already
    lower-case."""
    current = report
    for part in steps:
        if isinstance(current, Mapping):
            current = current[part] if part in current else current.get(part.lower())
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class _Group:
    """Values of one group, compared case-insensitively; ``ESME_*`` matches by prefix."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def __contains__(self, value: str) -> bool:
        return value in self.exact or any(value.startswith(p) for p in self.prefixes)

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)

    def listed(self) -> list[str]:
        return sorted(self.exact) + [p + WILDCARD for p in self.prefixes]


class GenericProfile(Profile):
    """A profile built from a declarative document (already parsed JSON)."""

    # The document's `signature`, keyed (``load_profiles``); None: nothing to check.
    signature: Signature | None = None

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
        formats = time.get("format", "iso8601")
        self.time_formats = tuple(
            _readable_time_format(f, source)
            for f in ([formats] if isinstance(formats, str) else formats)
        )
        self.timezone = _zone(time.get("timezone", "UTC"), source)
        self.states = self._groups("states", ("delivered", "intermediate") + BOUNCES)
        self.details = self._groups("details", BOUNCES)
        self.codes = self._groups("codes", ("success", "intermediate") + BOUNCES)
        self.reasons = {k.lower(): v for k, v in document.get("reasons", {}).items()}
        self.default = Outcome(document.get("default", "Permanent"))
        self.without_plus = document.get("internationalWithoutPlus", False)
        self.json_body = document.get("body") == "json"
        unwrap = document.get("unwrap")
        self.unwrap = path_steps(unwrap, f"{source}: unwrap") if unwrap else None
        _can_match(document, source)
        # The text field's parameters are a gateway's free text (e.g. Kannel's %A).
        text = self.fields.get("text")
        self.free_text = (
            frozenset(p.lower() for p in text.paths if "." not in p) if text else (frozenset())
        )
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
        paths = spec if isinstance(spec, str) else spec["from"]
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        steps = tuple(path_steps(path, f"{self.source}: fields.{key}") for path in paths)
        if isinstance(spec, str):
            return _Field(paths, steps=steps)
        sources = spec.get("pattern", ())
        sources = (sources,) if isinstance(sources, str) else tuple(sources)
        patterns = []
        for source in sources:
            try:
                pattern = re.compile(source)
            except re.error as exc:
                raise ProfileError(
                    f"{self.source}: fields.{key}.pattern is not a valid regular expression: {exc}"
                ) from None
            if pattern.groups > 1:
                raise ProfileError(
                    f"{self.source}: fields.{key}.pattern may have at most one group (the value)"
                )
            patterns.append(pattern)
        return _Field(paths, tuple(patterns), steps)

    def _groups(self, key: str, names: tuple[str, ...]) -> dict[str, _Group]:
        values = {
            name: {v.lower() for v in self.document.get(key, {}).get(name, ())} for name in names
        }
        seen: dict[str, str] = {}
        for name, group in values.items():
            for value in sorted(group):
                if value in seen:
                    raise ProfileError(
                        f"{self.source}: {key}: {value!r} is listed under both "
                        f"{seen[value]} and {name}"
                    )
                seen[value] = name
        return {
            name: _Group(
                frozenset(v for v in group if not v.endswith(WILDCARD)),
                tuple(sorted(v[:-1] for v in group if v.endswith(WILDCARD))),
            )
            for name, group in values.items()
        }

    def authenticate(self, incoming: Incoming) -> str | None:
        """Why the request is not the provider's by its signature (``signatures``), or None."""
        return self.signature.problem(incoming) if self.signature else None

    def describe(self) -> dict[str, Any]:
        signature = {"signature": self.signature.describe()} if self.signature else {}
        return {
            **super().describe(),
            **signature,
            "fields": dict(self.document["fields"]),
            "states": {k: v.listed() for k, v in self.states.items() if v},
            "details": {k: v.listed() for k, v in self.details.items() if v},
            "codes": {k: v.listed() for k, v in self.codes.items() if v},
            "default": self.default.value,
        }

    def parse(self, incoming: Incoming) -> list[Report | Rejected | Quarantined]:
        """The request's reports, each mapped or rejected on its own. Raises Rejected for the
        request as a whole: no list where the profile says, or more reports than it allows."""
        document = self._unwrapped(incoming)
        if self.batch:
            reports = _resolve_pointer(document, self.reports_pointer)
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
            # Each report of a batch keeps its own JSON as its raw record (ingest adds the rest).
            return [self._one(r, incoming.query, json.dumps(r)) for r in reports]
        report = document if isinstance(document, Mapping) else {**incoming.form}
        return [self._one(report, incoming.query, None)]

    def _unwrapped(self, incoming: Incoming) -> Any:
        """The body, or with ``unwrap`` the report that one of its fields holds as a JSON
        string (SNS's envelope holds the event in ``Message``); a body without that field is the
        report itself (SNS's raw message delivery). Rejected when the field holds no JSON."""
        body = incoming.json if incoming.json is not None else {**incoming.form}
        if self.unwrap is None:
            return incoming.json
        inner = _lookup(body, self.unwrap)
        if inner is None:
            return body
        name = ".".join(self.unwrap)
        if isinstance(inner, str):
            try:
                inner = parse_json(inner.encode("utf-8", "surrogatepass"))
            except InvalidParameter:
                inner = None
        if not isinstance(inner, (Mapping, list)):
            raise Rejected(name, f"{name} must hold the report as JSON")
        return inner

    def _one(self, report: Any, query: Mapping[str, str], raw: str | None):
        try:
            item = self._map(report, query)
            return item if raw is None else dataclasses.replace(item, raw=raw)
        except Unmappable as gap:
            return Unmappable(gap.parameter, str(gap), gap.message_id, raw)
        except InvalidParameter as exc:
            return exc if isinstance(exc, Rejected) else Rejected(exc.parameter, str(exc))
        except Exception:
            # A report this mapping cannot handle is a bug here, not a reason to answer 500 —
            # the provider would retry the whole batch and its valid reports would never land —
            # nor to lose it: kept like a report without a message id, for a fixed release.
            log.exception("%s: a report could not be mapped", self.name)
            why = "the report could not be mapped (a bug, logged for the operator)"
            return Unmappable("", why, raw=raw)

    def _read(self, key: str, report: Any, query: Mapping[str, str]) -> str | None:
        spec = self.fields.get(key)
        value = spec.read(report, query) if spec else None
        return value.strip() if value is not None else None

    def _name(self, key: str) -> str:
        return self.fields[key].name if key in self.fields else key

    def _map(self, report: Any, query: Mapping[str, str]):
        if not isinstance(report, Mapping):
            raise Rejected("", "a report must be a JSON object")
        if not report and not query:  # nothing of the provider's: no report to keep
            raise Rejected("", "the report is empty")
        found, name = self._read("messageId", report, query), self._name("messageId")
        if not found:
            raise Unmappable(name, f"{name} is required: the report has no message id there")
        message_id = checked_message_id(found, name)
        state = self._read("status", report, query)
        if "status" in self.fields and not state:
            name = self._name("status")
            raise Unmappable(name, f"{name} is required: the report has no state there", message_id)
        code = self._read("code", report, query) or ""
        detail = self._read("detail", report, query) or ""
        outcome, rule = self.explain(state, code, self._read("permanent", report, query), detail)
        seen = Seen(state or "", code, rule)
        text = self._read("text", report, query) or self.reason(detail, code, state)
        try:
            event_time = self._event_time(report, query)
            return make_report(
                message_id=message_id,
                recipient=self._recipient(report, query),
                event_time=event_time or datetime.now(timezone.utc),
                arrival_time=event_time is None,
                code=code,
                text=text,
                outcome=outcome,
                names={k: self._name(k) for k in ("messageId", "recipient")},
                seen=seen,
            )
        except Unreadable as gap:
            if outcome.is_bounce:
                # A bounce the provider sent in good faith: keep it, visibly (docs/spec.md §4).
                return Quarantined(message_id, outcome, gap.parameter, str(gap), seen=seen)
            # Never served anyway: acknowledged whatever else it lacks, so the provider does not
            # retry a success or progress report it can only send again the same way.
            now = format_utc(datetime.now(timezone.utc))
            text = reason_text(text, code)
            return Report(message_id, "", code[:10], text, outcome, now, seen=seen)

    def _recipient(self, report: Any, query: Mapping[str, str]) -> str | None:
        recipient = self.fields["recipient"].read(report, query)
        if recipient is not None and (
            recipient[:1].isspace()  # a + lost to URL decoding
            or (self.without_plus and recipient.strip().isdigit())
        ):
            recipient = "+" + recipient.strip()
        return recipient

    def reason(self, detail: str, code: str, state: str | None) -> str:
        """The bounce reason when the report has no text: the profile's readable words for its
        detail, code or state (in that order), else ``<state> (code <code>)``."""
        for value in (detail, code, state or ""):
            if value and value.lower() in self.reasons:
                return self.reasons[value.lower()]
        return " ".join(part for part in (state, code and f"(code {code})") if part)

    def classify(
        self, state: str | None, code: str, permanent_flag: str | None, detail: str = ""
    ) -> Outcome:
        return self.explain(state, code, permanent_flag, detail).outcome

    def explain(
        self, state: str | None, code: str, permanent_flag: str | None, detail: str = ""
    ) -> Classified:
        """Delivered/intermediate by state or code; otherwise a bounce typed by the permanent
        flag, then the detail, then the code, then the state, then the default. A state the
        profile does not list is not a bounce: acknowledged, never served (a new provider state
        must not turn into hard bounces by surprise). The rule is named as in the file."""
        state, code, detail = (state or "").lower(), code.lower(), detail.lower()
        if state and state in self.states["delivered"]:
            return Classified(Outcome.DELIVERED, "states.delivered")
        if code in self.codes["success"]:
            return Classified(Outcome.DELIVERED, "codes.success")
        if state and state in self.states["intermediate"]:
            return Classified(Outcome.INTERMEDIATE, "states.intermediate")
        if code in self.codes["intermediate"]:
            return Classified(Outcome.INTERMEDIATE, "codes.intermediate")
        if (
            state
            and state not in self.states["temporary"]
            and state not in self.states["permanent"]
        ):
            return Classified(Outcome.INTERMEDIATE, "state not listed")
        if permanent_flag is not None and permanent_flag.lower() in ("true", "false"):
            permanent = permanent_flag.lower() == "true"
            return Classified(
                Outcome.PERMANENT if permanent else Outcome.TEMPORARY, "permanent flag"
            )
        for key, value, groups in (
            ("details", detail, self.details),
            ("codes", code, self.codes),
            ("states", state, self.states),
        ):
            if not value:
                continue
            for group in BOUNCES:
                if value in groups[group]:
                    outcome = Outcome.TEMPORARY if group == "temporary" else Outcome.PERMANENT
                    return Classified(outcome, f"{key}.{group}")
        return Classified(self.default, "default")

    def _event_time(self, report: Any, query: Mapping[str, str]) -> datetime | None:
        """The report's event time; None when it carries none (its arrival is then the best
        there is)."""
        spec = self.fields.get("time")
        values = [v.strip() for v in spec.values(report, query)] if spec else []
        values = [v for v in values if v]
        if not values:
            return None
        for value in values:
            for time_format in self.time_formats:
                moment = _read_time(value, time_format, self._name("time"))
                if moment is not None:
                    return in_utc(
                        moment if moment.tzinfo else moment.replace(tzinfo=self.timezone),
                        self._name("time"),
                    )
        name, formats = self._name("time"), " or ".join(self.time_formats)
        if len(values) == 1:
            raise Unreadable(name, f"{name} is not a time in the format {formats}")
        tried = ", ".join(spec.paths)
        raise Unreadable(name, f"none of {tried} is a time in the format {formats}")


def _read_time(value: str, time_format: str, name: str) -> datetime | None:
    """``value`` read in ``time_format``; None when it is written otherwise. Rejected for a
    number no report has as a time (inf, nan, 1e20)."""
    if time_format in ("unix", "unix_ms"):
        try:
            seconds = float(value) / (1000 if time_format == "unix_ms" else 1)
        except ValueError:
            return None  # another format than this one
        try:
            return datetime.fromtimestamp(seconds, timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise Rejected(name, f"{name} is not a time in the format {time_format}") from None
    try:
        if time_format == "iso8601":
            return datetime.fromisoformat(value)
        return datetime.strptime(value, time_format)
    except ValueError:
        return None


# A moment every strptime pattern that can read a report's time gives back (date and hour at
# least): one that cannot would quarantine every bounce it reads.
_PROBE = datetime(2031, 12, 24, 21, 43, 56, tzinfo=timezone.utc)


def _readable_time_format(pattern: str, source: str) -> str:
    """``pattern`` if times written in it can be read back; ProfileError otherwise (an unknown
    directive, no date or hour in it)."""
    if pattern in ("iso8601", "unix", "unix_ms"):
        return pattern
    problem = (
        f"{source}: time.format {pattern!r} can never read a report's time: it must be "
        "iso8601, unix, unix_ms or a strptime pattern with the date and hour (e.g. %y%m%d%H%M)"
    )
    try:
        read = datetime.strptime(_PROBE.strftime(pattern), pattern)
    except ValueError:
        raise ProfileError(problem) from None
    if (read.date(), read.hour) != (_PROBE.date(), _PROBE.hour):
        raise ProfileError(problem)
    return pattern


def _can_match(document: Mapping[str, Any], source: str) -> None:
    """ProfileError for what needs a body the profile's methods never bring: a list of
    reports, a JSON body, a report unwrapped from a field all come in a POST."""
    methods = document.get("methods", ["GET"])
    if "POST" in methods:
        return
    for key in ("reports", "body", "unwrap"):
        if key in document:
            raise ProfileError(
                f"{source}: {key} reads a POST body, but methods is {methods}: add POST"
            )


def _zone(name: str, source: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ProfileError(f"{source}: time.timezone {name!r} is not an IANA time zone") from None


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
