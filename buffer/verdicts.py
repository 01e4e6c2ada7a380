"""What became of a report, in one vocabulary: a ``Verdict`` per report, a ``Taken`` per request.

``intake.Intake.take`` is the only place that decides; the HTTP answer, ``/metrics``, the
status page's counts, ``smsbounce replay`` and ``smsbounce providers try`` only read what it
returns. ``Verdict.counted`` is the word each is counted under (``stored:Permanent``,
``ignored:stale``, ``rejected:token``, …), the same in the metrics' labels and in the
``outcome_counts`` table the status page reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smsbounce.plumbing.web import HttpError

from .reports import Outcome, Report, Result, to_status_item

# How each kind of result is counted (the prefix of ``Verdict.counted``).
COUNTED_AS = {
    Result.STORED: "stored",
    Result.QUARANTINED: "quarantined",
    Result.DUPLICATE: "ignored",
    Result.STALE: "ignored",
    Result.ACKNOWLEDGED: "ignored",
    Result.REJECTED: "rejected",
}
ACKNOWLEDGED_AS = {Outcome.DELIVERED: "success", Outcome.INTERMEDIATE: "intermediate"}

# What the status page calls each count, in its order; counts seen that are not listed (a
# rejection for another reason) come after, under their own word.
LABELS = {
    "stored:Permanent": "Stored — hard bounce (Permanent)",
    "stored:Temporary": "Stored — soft bounce (Temporary)",
    "quarantined:Permanent": "Quarantined — hard bounce with an unreadable field",
    "quarantined:Temporary": "Quarantined — soft bounce with an unreadable field",
    "quarantined:unmapped": "Quarantined — report the profile could not map (no id or state)",
    "ignored:success": "Acknowledged — delivered",
    "ignored:intermediate": "Acknowledged — in progress",
    "ignored:duplicate": "Ignored — duplicate",
    "ignored:stale": "Ignored — weaker or older than stored",
    "rejected:invalid": "Rejected — invalid report",
    "rejected:token": "Rejected — wrong or missing token",
    "rejected:signature": "Rejected — bad signature",
    "rejected:signature_unverifiable": "Not taken — signature not checkable (provider retries)",
    "rejected:database_unavailable": "Not stored — database unavailable (provider retries)",
    "rejected:unmapped_full": "Not taken — unmapped reports at their bound (provider retries)",
}


@dataclass(frozen=True)
class Verdict:
    """One report's fate. ``report`` is what the profile made of it (a ``Report`` — the row
    stored, or the success acknowledged — or a ``Quarantined``); ``error`` why it was not taken.
    ``reason``: the bounce type (stored, quarantined), ``success``/``intermediate``/
    ``duplicate``/``stale`` (ignored), or the error's ``reason`` (rejected)."""

    result: Result
    reason: str
    message_id: str | None = None
    report: object = None
    error: HttpError | None = None

    @classmethod
    def of(cls, item, result: Result) -> Verdict:
        """The verdict on a profile's ``Report`` or ``Quarantined`` given what storing it did."""
        if result is Result.ACKNOWLEDGED:
            reason = ACKNOWLEDGED_AS[item.outcome]
        elif result in (Result.DUPLICATE, Result.STALE):
            reason = result.value
        else:  # the bounce's type, or ``unmapped``
            reason = item.type
        return cls(result, reason, item.message_id or None, item)

    @classmethod
    def rejected(cls, error: HttpError, item=None) -> Verdict:
        return cls(Result.REJECTED, error.reason, getattr(item, "message_id", None), item, error)

    @property
    def counted(self) -> str:
        return f"{COUNTED_AS[self.result]}:{self.reason}"

    def as_json(self) -> dict:
        """Everything the verdict says, for ``--json`` output and tests."""
        shown: dict = {"result": self.result.value, "reason": self.reason}
        if self.message_id is not None:
            shown["messageId"] = self.message_id
        if isinstance(self.report, Report):
            shown["item"] = to_status_item(self.report)
        elif self.report is not None:  # quarantined: the field it could not read, and why
            shown["unreadable"] = {"parameter": self.report.parameter, "why": self.report.reason}
        seen = getattr(self.report, "seen", None)
        if seen is not None:  # the provider's state and code, and the rule that classified them
            shown["seen"] = {"state": seen.state, "code": seen.code, "rule": seen.rule}
        if self.error is not None:
            shown["error"] = self.answer()["error"]
        return shown

    def answer(self) -> dict:
        """What the provider is told of this report, in the buffer's JSON."""
        if self.error is not None:
            error = {"status": self.error.status, "message": str(self.error)}
            if self.error.parameter:
                error["parameter"] = self.error.parameter
            return {"error": error}
        answer = {"result": self.result.answer}
        if self.message_id is not None:  # none when the profile found none (``unmapped``)
            answer["messageId"] = self.message_id
        return answer


@dataclass
class Taken:
    """One request: a verdict per report it carried (one, rejected, when it was refused before
    any report could be read), and either the JSON answer or the error to send."""

    provider: str
    verdicts: list[Verdict] = field(default_factory=list)
    answer: dict | None = None
    error: HttpError | None = None

    @classmethod
    def refused(cls, provider: str, error: HttpError) -> Taken:
        return cls(provider, [Verdict.rejected(error)], error=error)

    def stored(self) -> list[Report]:
        return [v.report for v in self.verdicts if v.result is Result.STORED]
