"""Any provider, from its profile file: callbacks rendered in the format a provider profile
describes (contracts/schemas/provider-profile.schema.json) — method and content type, field
names and dotted paths, a batch under its ``reports`` pointer, its states and codes for
delivered, in progress, soft and hard, its time format — and what the buffer, reading the same
file, will store.

Rendered from the same file the buffer reads, it agrees with the buffer by construction: it runs
the flow (``smsbounce demo``) and certifies *other* endpoints (``smsbounce verify``) in that
provider's format; what proves a profile right are the provider's real callbacks
(``smsbounce providers test``). The hand-written formats beside this one stay for Kannel and
Jasmin, whose real gateways' quirks (a DLR text echoed in the link's charset, a recipient only in
the callback URL) a profile cannot write back, and for the other built-ins, whose tables send the
provider's documented codes for each kind of failure rather than the first one a list names.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from smsbounce import contracts

from ..scenario import DELIVERED, INTERMEDIATE, TEMPORARY
from .base import UTC, Format, Item, Request, Stored, buffer_text, encode_pairs, join_url

JSON = "application/json"

WILDCARD = "*"


class ProfileFormatError(ValueError):
    """A profile the simulator cannot write reports for; the message names the file and why."""


def _first(values, fallback: str | None = None) -> str | None:
    """The first listed value that is a value, not a prefix (``ESME_*``)."""
    return next((v for v in values if not v.endswith(WILDCARD)), fallback)


class ProfileFormat(Format):
    def __init__(self, document: dict, source: str = "<profile>"):
        problems = contracts.problems("provider-profile", document)
        if problems:
            raise ProfileFormatError(f"{source}: " + "; ".join(problems))
        self.document, self.source = document, source
        self.name = document["name"]
        self.paths = {key: self._path(key, spec) for key, spec in document["fields"].items()}
        self.pointer = document.get("reports")
        self.batch = self.pointer is not None
        methods = document.get("methods", ["GET"])
        self.unwrap = document.get("unwrap")
        self.json = (
            self.batch
            or self.unwrap is not None
            or any("." in p or "[" in p for p in self.paths.values())
            or methods == ["POST"]
        )
        self.method = "POST" if self.json or "GET" not in methods else "GET"
        time = document.get("time", {})
        formats = time.get("format", "iso8601")
        # Several formats are read in order: the first is the provider's own.
        self.time_format = formats[0] if isinstance(formats, list) else formats
        self.timestamp = "event" if "time" in self.paths else "arrival"
        self.reasons = {k.lower(): v for k, v in document.get("reasons", {}).items()}
        self.outcomes = self._outcomes()
        self.title = f"{self.method} {'JSON' if self.json else 'form'} per {source}"

    @classmethod
    def from_file(cls, path: str | Path) -> ProfileFormat:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProfileFormatError(f"{path}: cannot read a profile: {exc}") from None
        return cls(document, str(path))

    def _path(self, key: str, spec) -> str:
        if isinstance(spec, str):
            return self._own(key, spec)
        paths = spec["from"]
        path = paths if isinstance(paths, str) else paths[0]
        if spec.get("pattern"):
            raise ProfileFormatError(
                f"{self.source}: fields.{key} reads its value with a pattern; the simulator "
                "cannot write a value back through it"
            )
        return self._own(key, path)

    def _own(self, key: str, path: str) -> str:
        """``path``, unless a field read earlier already has it: one value cannot be written
        as two (Clickatell's statusCode is its state and its code)."""
        if path in getattr(self, "_taken", {}):
            raise ProfileFormatError(
                f"{self.source}: fields.{key} and fields.{self._taken[path]} read the same "
                f"{path!r}; the simulator cannot write two values there"
            )
        self._taken = {**getattr(self, "_taken", {}), path: key}
        return path

    def _outcomes(self) -> dict[str, tuple[str, str, str]]:
        """Per kind of outcome: (state, code, the bounce type the buffer stores)."""
        doc = self.document
        states, codes = doc.get("states", {}), doc.get("codes", {})
        hard_state = _first(states.get("permanent", ()))
        failure = hard_state or _first(states.get("temporary", ()))
        plain = {
            "delivered": (
                _first(states.get("delivered", ()), ""),
                _first(codes.get("success", ()), ""),
            ),
            "intermediate": (
                _first(states.get("intermediate", ()), ""),
                _first(codes.get("intermediate", ()), ""),
            ),
        }
        if "status" in self.paths and not any(plain["delivered"]):
            raise ProfileFormatError(f"{self.source}: the profile lists no delivered state or code")
        found = {kind: (state, code, kind) for kind, (state, code) in plain.items()}
        for kind, bounce in (("temporary", "Temporary"), ("permanent", "Permanent")):
            code = _first(codes.get(kind, ()))
            state = _first(states.get(kind, ())) if code is None else failure
            if code is None and state is None:
                continue
            found[kind] = (state or "", code or "", bounce)
        if "permanent" not in found:
            if failure is None and "status" in self.paths:
                raise ProfileFormatError(f"{self.source}: the profile lists no failure state")
            # A failure state alone: typed by its own list, else by the profile's default.
            bounce = "Temporary" if failure and not hard_state else doc.get("default", "Permanent")
            found["permanent"] = (failure or "", "", bounce)
        # A provider without soft bounces: its failures are all hard (verify notes it).
        found.setdefault("temporary", found["permanent"])
        return found

    def _kind(self, code: str) -> str:
        if code == DELIVERED:
            return "delivered"
        if code in INTERMEDIATE:
            return "intermediate"
        return "temporary" if code == TEMPORARY else "permanent"

    def item(self, report):
        state, code, _ = self.outcomes[self._kind(report.planned.code)]
        recipient = report.recipient
        if self.document.get("internationalWithoutPlus"):
            recipient = recipient.removeprefix("+")
        values = {
            "messageId": report.order_id,
            "recipient": recipient,
            "time": self._time(report.planned.event_time),
            "status": state,
            "code": code,
            "text": report.planned.text if "text" in self.paths else None,
        }
        if "permanent" in self.paths:
            bounce = self.outcomes[self._kind(report.planned.code)][2]
            values["permanent"] = "true" if bounce == "Permanent" else "false"
        pairs = [(self.paths[k], v) for k, v in values.items() if k in self.paths and v]
        shown = [f"{path}={value}" for path, value in pairs if path != self.paths["recipient"]]
        summary = " ".join(shown)
        if self.json:
            document: dict[str, Any] = {}
            for path, value in pairs:
                _put(document, path, value)
            return Item(document, summary)
        return Item(tuple(pairs), summary)

    def stored(self, report):
        kind = self._kind(report.planned.code)
        state, code, bounce = self.outcomes[kind]
        if "text" in self.paths and report.planned.text:
            text = buffer_text(report.planned.text, state, code)
        else:
            text = next(
                (self.reasons[v.lower()] for v in (code, state) if v and v.lower() in self.reasons),
                buffer_text(None, state, code),
            )
        resolution = 60 if self._without_seconds() else 1
        event_time = report.planned.event_time if self.timestamp == "event" else None
        return Stored(bounce, code, text, report.recipient, event_time, resolution=resolution)

    def request(self, address, items):
        # A profile that reads JSON whatever the content type (SNS) gets what its provider sends.
        kind = "text/plain; charset=UTF-8" if self.document.get("body") == "json" else JSON
        if self.batch:
            body = json.dumps(_at(self.pointer, [item.fields for item in items])).encode()
            return Request("POST", address, body, {"Content-Type": kind})
        (item,) = items
        if self.json:
            document = item.fields
            if self.unwrap is not None:  # the report as a JSON string in an envelope's field
                document = {"Type": "Notification", self.unwrap: json.dumps(document)}
            return Request("POST", address, json.dumps(document).encode(), {"Content-Type": kind})
        if self.method == "GET":
            return Request("GET", join_url(address, encode_pairs(item.fields)))
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        return Request("POST", address, encode_pairs(item.fields).encode(), form)

    def accepted(self, status: int, body: str) -> bool:
        answer = self.document.get("answer")
        if answer is None:
            return super().accepted(status, body)
        return status == answer.get("status", 200) and body == answer["body"]

    def _time(self, moment: datetime) -> str:
        moment = moment.astimezone(UTC)
        if self.time_format == "iso8601":
            return moment.isoformat().replace("+00:00", "Z")
        if self.time_format == "unix":
            return str(int(moment.timestamp()))
        if self.time_format == "unix_ms":
            return str(int(moment.timestamp() * 1000))
        zone = self.document.get("time", {}).get("timezone")
        if zone:
            from zoneinfo import ZoneInfo

            moment = moment.astimezone(ZoneInfo(zone))
        return moment.strftime(self.time_format)

    def _without_seconds(self) -> bool:
        return self.time_format not in ("iso8601", "unix", "unix_ms") and not re.search(
            r"%[ST]", self.time_format
        )


def _put(document: dict, path: str, value: str) -> None:
    """``value`` at a dotted ``path`` (``to[0].status``: an element of a list), making the
    objects and lists on the way."""
    steps: list = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        steps.append(name)
        if index:
            steps.append(int(index.rstrip("]")))
    current: Any = document
    for step, following in zip(steps, steps[1:], strict=False):
        if isinstance(step, int):
            while len(current) <= step:
                current.append({} if not isinstance(following, int) else [])
            current = current[step]
        else:
            current = current.setdefault(step, [] if isinstance(following, int) else {})
    current[steps[-1]] = value


def _at(pointer: str, value: Any) -> Any:
    """``value`` placed at a JSON pointer in otherwise empty objects."""
    for token in reversed([t for t in pointer.lstrip("/").split("/") if t]):
        value = {token.replace("~1", "/").replace("~0", "~"): value}
    return value
