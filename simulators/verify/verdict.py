"""The outcome of one check: a verdict word and one line of evidence a person can act on."""

from __future__ import annotations

from dataclasses import asdict, dataclass

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True)
class Verdict:
    """``evidence`` names the request and what was wrong (or what was proven), on one line."""

    check: str
    verdict: str
    evidence: str
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    def as_dict(self) -> dict:
        return asdict(self)


def passed(check: str, evidence: str) -> Verdict:
    return Verdict(check, PASS, evidence)


def failed(check: str, problems: list[str], shown: int = 3) -> Verdict:
    """A failure listing the first ``shown`` problems and how many more there were. A problem
    seen again (the same window read twice) is listed once."""
    problems = list(dict.fromkeys(problems))
    more = len(problems) - shown
    text = "; ".join(problems[:shown]) + (f" (and {more} more)" if more > 0 else "")
    return Verdict(check, FAIL, text)


def skipped(check: str, why: str) -> Verdict:
    return Verdict(check, SKIP, why)


def judge(check: str, problems: list[str], proof: str) -> Verdict:
    """Fail with the problems if there are any, else pass with what was proven."""
    return failed(check, problems) if problems else passed(check, proof)
