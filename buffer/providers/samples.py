"""Sample files: a provider's real callbacks, captured, with what each must become — the contract
an integrator owns for their provider's mapping (``smsbounce providers test``).

One file holds one or more samples, separated by a line ``###``. A sample is the request as an
HTTP message — a request line (``POST /any/path?query``; only the method and query matter),
header lines, an empty line, the body — preceded by comment lines saying what must become of it::

    # expect: stored Permanent
    # statusCode: 5
    # recipient: +4915112345678
    POST /api/v1/providers/vonage/report
    Content-Type: application/x-www-form-urlencoded

    messageId=0A00&msisdn=4915112345678&status=failed&err-code=5

``expect`` is ``stored`` (served to Marketing), ``acknowledged`` (not served), ``quarantined`` or
``rejected``, with the bounce type for the first two where it matters. The other checks name a
served field (``messageId``, ``recipient``, ``statusCode``, ``statusText``, ``type``,
``timestamp``). In a batch, ``# expect <messageId>: …`` and ``# statusCode <messageId>: …`` speak
of one report; without a message id they speak of every report. Other comment lines are notes
(``# source: …``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from ..raw_requests import RawRequest
from ..verdicts import Verdict

RESULTS = ("stored", "acknowledged", "quarantined", "rejected")
FIELDS = ("messageId", "recipient", "statusCode", "statusText", "type", "timestamp")
SEPARATOR = "###"
_CHECK = re.compile(r"#\s*(expect|" + "|".join(FIELDS) + r")(?:\s+(\S+))?\s*:\s*(.*)$")


class SampleError(ValueError):
    """A sample file that cannot be read; the message names the file, the line and why."""


@dataclass(frozen=True)
class Check:
    what: str  # "expect" or a served field
    expected: str
    message_id: str | None = None  # None: every report of the sample


@dataclass
class Sample:
    name: str  # file name, and #N when the file holds several
    request: RawRequest
    checks: list[Check] = field(default_factory=list)


def read_samples(path: Path) -> list[Sample]:
    """Every sample in ``path``; SampleError naming the file and line of a malformed one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SampleError(f"{path}: cannot read: {exc}") from None
    chunks, current, first_line = [], [], 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == SEPARATOR:
            chunks.append((first_line, current))
            current, first_line = [], number + 1
        else:
            current.append(line)
    chunks.append((first_line, current))
    chunks = [(start, lines) for start, lines in chunks if any(line.strip() for line in lines)]
    several = len(chunks) > 1
    return [
        _sample(f"{path.name}#{index}" if several else path.name, path, start, lines)
        for index, (start, lines) in enumerate(chunks, start=1)
    ]


def _sample(name: str, path: Path, start: int, lines: list[str]) -> Sample:
    checks, position = [], 0
    while position < len(lines) and (not lines[position].strip() or lines[position][:1] == "#"):
        line = lines[position]
        match = _CHECK.match(line.strip())
        if match:
            checks.append(_check(match, path, start + position))
        position += 1
    if not any(check.what == "expect" for check in checks):
        raise SampleError(
            f"{path}:{start}: the sample says nothing about what must become of it "
            f"(# expect: {' | '.join(RESULTS)})"
        )
    if position == len(lines):
        raise SampleError(f"{path}:{start}: the sample has no request line (GET /path?query)")
    request_line = lines[position].split()
    if len(request_line) < 2 or request_line[0] not in ("GET", "POST"):
        raise SampleError(
            f"{path}:{start + position}: a request line is GET or POST and a path: "
            f"{lines[position]!r}"
        )
    method, target = request_line[0], request_line[1]
    headers, position = {}, position + 1
    while position < len(lines) and lines[position].strip():
        header, colon, value = lines[position].partition(":")
        if not colon:
            raise SampleError(f"{path}:{start + position}: not a header line: {lines[position]!r}")
        headers[header.strip().lower()] = value.strip()
        position += 1
    body = "\n".join(lines[position + 1 :]).strip("\n")
    query = target.split("?", 1)[1] if "?" in target else ""
    request = RawRequest(
        method=method,
        query_string=query.encode().decode("latin-1"),  # as a WSGI server hands it on
        content_type=headers.get("content-type", ""),
        body=body.encode(),
        headers=headers,
    )
    return Sample(name, request, checks)


def _check(match: re.Match, path: Path, line: int) -> Check:
    what, message_id, expected = match.group(1), match.group(2), match.group(3).strip()
    if what == "expect":
        words = expected.split()
        if not words or words[0] not in RESULTS or len(words) > 2:
            raise SampleError(
                f"{path}:{line}: expect {' | '.join(RESULTS)}, with Temporary or Permanent "
                f"after stored or quarantined: {expected!r}"
            )
    return Check(what, expected, message_id)


def problems(checks: list[Check], verdicts: list[Verdict]) -> list[str]:
    """Why ``verdicts`` do not meet ``checks``: one sentence per unmet check (none: passed)."""
    found = []
    for check in checks:
        chosen = [v for v in verdicts if check.message_id in (None, v.message_id)]
        if not chosen:
            found.append(f"no report with messageId {check.message_id}")
        for verdict in chosen:
            problem = _unmet(check, verdict)
            if problem:
                who = f"report {verdict.message_id}: " if len(verdicts) > 1 else ""
                found.append(who + problem)
    return found


def _unmet(check: Check, verdict: Verdict) -> str | None:
    shown = verdict.as_json()
    if check.what == "expect":
        result, *kind = check.expected.split()
        outcome = verdict.report.type if verdict.report is not None else None
        if shown["result"] != result or (kind and kind[0] != outcome):
            return f"expected {check.expected}, got {describe(verdict)}"
        return None
    item = shown.get("item")
    if item is None:
        return f"expected {check.what} {check.expected!r}, got {describe(verdict)}"
    if item[check.what] != check.expected:
        return f"expected {check.what} {check.expected!r}, got {item[check.what]!r}"
    return None


def describe(verdict: Verdict) -> str:
    """``stored Permanent (rule codes.temporary)``, ``rejected: msisdn is required``."""
    if verdict.error is not None:
        return f"rejected: {verdict.error}"
    words = f"{verdict.result.value} {verdict.report.type}"
    seen = getattr(verdict.report, "seen", None)
    return words + (f" (rule {seen.rule})" if seen is not None else "")


def write_sample(verdicts: list[Verdict], request: RawRequest, note: str) -> str:
    """A sample file's text pinning what ``request`` becomes now (``providers capture``)."""
    lines = [f"# {note}"]
    several = len(verdicts) > 1
    for verdict in verdicts:
        target = f" {verdict.message_id}" if several and verdict.message_id else ""
        kind = f" {verdict.report.type}" if verdict.report is not None else ""
        lines.append(f"# expect{target}: {verdict.result.value}{kind}")
        for name, value in (verdict.as_json().get("item") or {}).items():
            lines.append(f"# {name}{target}: {value}")
    query = "?" + request.query_string if request.query_string else ""
    lines.append(f"{request.method} /{query}")
    if request.content_type:
        lines.append(f"Content-Type: {request.content_type}")
    lines += ["", request.body.decode("utf-8", "replace")]
    return "\n".join(lines).rstrip("\n") + "\n"


def junit(profile: str, outcomes: list[tuple[Sample, object, list[str]]]) -> str:
    """A JUnit XML report: one test case per sample, a failure per unmet sample."""
    suite = ElementTree.Element(
        "testsuite",
        name=f"smsbounce providers test {profile}",
        tests=str(len(outcomes)),
        failures=str(sum(1 for _, _, unmet in outcomes if unmet)),
    )
    for sample, _, unmet in outcomes:
        case = ElementTree.SubElement(suite, "testcase", classname=profile, name=sample.name)
        if unmet:
            failure = ElementTree.SubElement(case, "failure", message=unmet[0])
            failure.text = "\n".join(unmet)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
