"""What every provider profile shares: the request it is shown, and what it hands back.

A profile turns one HTTP request into zero or more ``Report``s (reports.py) — or, per report,
the reason it was rejected, or a ``Quarantined`` bounce whose fields it could not all read — and
says how its provider expects to be answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..reports import UNMAPPED, Outcome, Rejected, Report, Seen, Unmappable, Unreadable

__all__ = [
    "Answer",
    "Deferred",
    "Incoming",
    "Profile",
    "Quarantined",
    "Rejected",
    "Unmappable",
    "Unreadable",
]

_REQUIRED = object()


class Deferred:
    """A field of a frozen dataclass that may be given a function of no arguments instead of
    its value: the function is called the first time the field is read, and only then. A
    ``default`` is given the same way (``Deferred(dict)``: a fresh dict for each instance).

    A request's full URL (an urljoin) and its headers by name cost more than many a profile's
    whole mapping, and only a signature check (Twilio's) reads them; the query string without
    its token is read only for a report whose raw record is kept.
    """

    def __init__(self, default: Any = _REQUIRED):
        self.default = default

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.slot = name, "_deferred_" + name

    def __get__(self, instance, owner=None):
        if instance is None:
            if self.default is _REQUIRED:
                # What dataclasses reads as "this field has no default".
                raise AttributeError(self.name)
            return self.default
        value = instance.__dict__[self.slot]
        if callable(value):
            value = value()
            instance.__dict__[self.slot] = value
        return value

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.slot] = value


@dataclass(frozen=True)
class Incoming:
    """The parts of a request a profile may read. Names in ``query``, ``form`` and ``headers``
    are lower-case. ``url``, ``headers`` and ``raw_query`` may be given as functions
    (``Deferred``)."""

    method: str
    url: str = Deferred()  # type: ignore[assignment]
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = Deferred(dict)  # type: ignore[assignment]
    # Form fields with their names as sent (Twilio signs them case-sensitively).
    raw_form: tuple[tuple[str, str], ...] = ()
    token: str | None = None  # the ingest capability, kept apart so it is never stored
    # The query string and body exactly as received (the token taken out), for the raw record
    # that ``smsbounce replay`` maps again (``raw_requests``).
    raw_query: str = Deferred("")  # type: ignore[assignment]
    raw_body: bytes = b""
    content_type: str = ""


@dataclass(frozen=True)
class Answer:
    """How a provider expects to be answered when its reports were taken."""

    status: int = 200
    content_type: str = "application/json"
    body: str | None = None  # None: the buffer's JSON result


@dataclass(frozen=True)
class Quarantined:
    """A bounce — a message id and a failure state — with a field the mapping could not read
    (``parameter``, and why). Kept with its raw request, answered as taken, never served as it
    is: Marketing's item needs every field (docs/spec.md §4, §7). Without ``outcome``: a report
    the profile could not map at all (``Unmappable``; ``message_id`` as found, maybe empty)."""

    message_id: str
    outcome: Outcome | None
    parameter: str
    reason: str
    raw: str | None = None
    seen: Seen | None = None

    @classmethod
    def unmapped(cls, gap: Unmappable) -> Quarantined:
        return cls(gap.message_id, None, gap.parameter or "", str(gap), gap.raw)

    @property
    def is_bounce(self) -> bool:
        return True

    @property
    def type(self) -> str:
        """Its type in the quarantine: the bounce's (Temporary/Permanent), or ``unmapped``."""
        return self.outcome.value if self.outcome is not None else UNMAPPED


class Profile:
    """One provider's callback format. Subclasses implement ``parse``."""

    name: str
    description: str = ""
    methods: tuple[str, ...] = ("GET",)
    batch: bool = False  # several reports per request: answered per report
    answer: Answer = Answer()
    # Lower-case names of parameters that carry a gateway's free text (Kannel's %A echoes the
    # SMS in the link's charset): bytes outside UTF-8 there are decoded leniently, not refused.
    free_text: frozenset[str] = frozenset()
    # A POST body read as JSON whatever its Content-Type says (SNS posts JSON as text/plain).
    json_body: bool = False
    # A report this profile cannot map (no message id or state) is kept for ``smsbounce replay``
    # and answered as taken; False: refused with 400 (docs/spec.md §4).
    keeps_unmapped: bool = True

    def parse(self, incoming: Incoming) -> list[Report | Rejected | Quarantined]:
        raise NotImplementedError

    def authenticate(self, incoming: Incoming) -> str | None:
        """Return why the request is not from the provider, or None. Default: nothing to check."""
        return None

    def handshake(self, incoming: Incoming) -> dict[str, Any] | None:
        """A request from the provider that carries no report (SNS's subscription handshake):
        the JSON answer it gets, nothing stored; None for a request of reports. Default: none.
        May raise an ``InvalidParameter`` for a handshake that cannot be the provider's."""
        return None

    def describe(self) -> dict[str, Any]:
        """What ``smsbounce providers list`` shows."""
        return {"name": self.name, "description": self.description, "methods": list(self.methods)}
