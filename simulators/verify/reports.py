"""The run as a terminal table, JUnit XML (one testcase per check) and JSON for machines."""

from __future__ import annotations

import inspect
import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit, urlunsplit

from . import readside, roundtrip
from .runner import Result
from .verdict import FAIL, PASS, SKIP

SUITE = "smsbounce verify"
WORDS = {PASS: "PASS", FAIL: "FAIL", SKIP: "skip"}


def _describe(check) -> str:
    return " ".join(inspect.getdoc(check).replace("``", "").split())


DESCRIPTIONS = {
    check.__name__.replace("_", "-"): _describe(check)
    for check in readside.CHECKS + roundtrip.CHECKS
}


def public_url(url: str) -> str:
    """The URL without user info or query (an ingest URL's query may hold a token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def counts(result: Result) -> dict[str, int]:
    return {word: sum(v.verdict == word for v in result.verdicts) for word in (PASS, FAIL, SKIP)}


def summary(result: Result) -> str:
    c = counts(result)
    head = "all checks passed" if result.passed else f"{c[FAIL]} of {len(result.verdicts)} failed"
    return f"{head} ({c[PASS]} passed, {c[FAIL]} failed, {c[SKIP]} skipped)"


def table(result: Result) -> str:
    """Name, verdict and evidence per check, aligned, then one summary line."""
    width = max(len(v.check) for v in result.verdicts)
    lines = [f"{'check':<{width}}  verdict  evidence", f"{'-' * width}  -------  --------"]
    for v in result.verdicts:
        lines.append(f"{v.check:<{width}}  {WORDS[v.verdict]:<7}  {v.evidence}")
    lines += [f"note: {note}" for note in result.notes]
    lines.append(summary(result))
    return "\n".join(lines)


def as_json(result: Result) -> dict:
    return {
        "tool": SUITE,
        "statusUrl": public_url(result.options.status_url),
        "roundTrip": result.options.ingest_url is not None,
        "provider": result.options.provider,
        "runPrefix": result.prefix,
        "settleLag": result.options.settle_lag,
        "started": result.started.isoformat(),
        "finished": result.finished.isoformat(),
        "passed": result.passed,
        "counts": counts(result),
        "checks": [
            {**v.as_dict(), "description": DESCRIPTIONS.get(v.check, "")} for v in result.verdicts
        ],
        "notes": result.notes,
    }


def write_json(result: Result, path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(as_json(result), out, indent=2, ensure_ascii=False)
        out.write("\n")


def junit(result: Result) -> bytes:
    """JUnit XML: a failure element carries the evidence as message and text."""
    c = counts(result)
    seconds = f"{(result.finished - result.started).total_seconds():.3f}"
    attributes = {"tests": str(len(result.verdicts)), "failures": str(c[FAIL])}
    attributes |= {"errors": "0", "skipped": str(c[SKIP]), "time": seconds}
    suites = ET.Element("testsuites", name=SUITE, **attributes)
    suite = ET.SubElement(suites, "testsuite", name=SUITE, **attributes)
    suite.set("timestamp", result.started.replace(tzinfo=None).isoformat(timespec="seconds"))
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(
        properties, "property", name="statusUrl", value=public_url(result.options.status_url)
    )
    for v in result.verdicts:
        case = ET.SubElement(suite, "testcase", classname="smsbounce.verify", name=v.check)
        case.set("time", f"{v.seconds:.3f}")
        if v.verdict == FAIL:
            ET.SubElement(
                case, "failure", message=v.evidence, type="ContractViolation"
            ).text = f"{DESCRIPTIONS.get(v.check, '')}\n\n{v.evidence}"
        elif v.verdict == SKIP:
            ET.SubElement(case, "skipped", message=v.evidence)
        else:
            ET.SubElement(case, "system-out").text = v.evidence
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def write_junit(result: Result, path: str) -> None:
    with open(path, "wb") as out:
        out.write(junit(result))
