"""The round trip's reports on the wire: which request carries which reports, and whether an answer
took each of them. Pure: the runner sends the requests.

DI's reports are raw queries, sent as written; every other provider's request comes from its
format (``formats.Format.request``: a signed form POST for Twilio, JSON for Infobip …), addressed
to the ingest URL exactly as given, so a Twilio signature covers the URL that is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smsbounce.simulators.di.formats import JASMIN_ACK

from .plan import Plan
from .wire import Exchange, join_query

TWILIO_HINT = (
    "does --twilio-auth-token match the endpoint's, and does it see the URL verify calls "
    "(SMSBOUNCE_PUBLIC_URL)?"
)


def hint(plan: Plan, answers: list[Exchange]) -> str | None:
    """What to look at when the answers suggest a setup problem rather than a mapping one."""
    if plan.provider == "twilio" and any(answer.status == 403 for answer in answers):
        return TWILIO_HINT
    return None


@dataclass(frozen=True)
class Send:
    """One request and the indexes (into ``plan.reports``) of the reports it carries."""

    method: str
    url: str
    reports: list[int]
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def sends(plan: Plan, address: str) -> list[Send]:
    """The requests of a round trip in sending order; neighbours sharing a batch go together."""
    groups: list[list[int]] = []
    for index, report in enumerate(plan.reports):
        previous = plan.reports[groups[-1][0]] if groups else None
        if previous is not None and report.batch and previous.batch == report.batch:
            groups[-1].append(index)
        else:
            groups.append([index])
    result = []
    for group in groups:
        if plan.format is None:
            (index,) = group
            result.append(Send("GET", join_query(address, plan.reports[index].query), group))
        else:
            request = plan.format.request(address, [plan.reports[i].item for i in group])
            result.append(Send(request.method, request.url, group, request.body, request.headers))
    return result


def refusal(plan: Plan, answer: Exchange, position: int = 0, size: int = 1) -> str | None:
    """Why ``answer`` did not take the report at ``position`` of a request carrying ``size``
    reports, or None when it did.

    A report is taken by a 2xx answer — for Jasmin only one whose body is ``ACK/Jasmin``, else
    Jasmin retries. When a batch's answer lists a result per report (``{"results": [...]}``, as
    our buffer answers), a result with an ``error`` refuses its report.
    """
    if answer.status is None or not 200 <= answer.status < 300:
        return f"{answer.answer}: {answer.excerpt}"
    if plan.format is not None:
        text = answer.body.decode("utf-8", "replace")
        if not plan.format.accepted(answer.status, text):
            if plan.provider == "jasmin":
                return f"{answer.answer} {answer.excerpt}, not {JASMIN_ACK}: Jasmin would retry it"
            return f"{answer.answer} {answer.excerpt}: {plan.provider} would not count it as taken"
    if size > 1:
        document = answer.document
        results = document.get("results") if isinstance(document, dict) else None
        if isinstance(results, list) and len(results) == size:
            result = results[position]
            if isinstance(result, dict) and result.get("error") is not None:
                return (
                    f"{answer.answer}, report {position + 1} of {size} in its request refused: "
                    f"{result['error']}"
                )
    return None
