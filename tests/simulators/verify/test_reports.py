"""verify's reports: the terminal table, JUnit XML, JSON, and HTML as Chromium renders it."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from html.parser import HTMLParser

from smsbounce.simulators.verify import htmlreport, reports
from smsbounce.simulators.verify.runner import Options, Result
from smsbounce.simulators.verify.verdict import Verdict
from tests import browser

HOSTILE = "<script>alert(1)</script> & 'quotes'"


def _result() -> Result:
    verdicts = [
        Verdict("schema", "pass", "13 pages match contracts/status-response"),
        Verdict("field-mapping", "fail", f"sbv1-art (article example): recipient {HOSTILE}"),
        Verdict("auth-required", "skip", "no --user given"),
    ]
    started = datetime(2026, 2, 1, 10, 0, 0, tzinfo=timezone.utc)
    finished = datetime(2026, 2, 1, 10, 0, 3, tzinfo=timezone.utc)
    options = Options("https://u:p@cpi.example/http/hybris_sms/status?x=1", ingest_url="http://i")
    return Result(options, verdicts, started, finished, prefix="sbv0a1b2c-")


def test_the_table_aligns_checks_and_ends_with_a_summary():
    lines = reports.table(_result()).splitlines()
    assert lines[0].split() == ["check", "verdict", "evidence"]
    assert lines[2].startswith("schema         PASS     13 pages")
    assert lines[3].startswith("field-mapping  FAIL     sbv1-art")
    assert lines[-1] == "1 of 3 failed (1 passed, 1 failed, 1 skipped)"


def test_junit_has_one_testcase_per_check_with_failures_carrying_evidence():
    root = ET.fromstring(reports.junit(_result()))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["schema", "field-mapping", "auth-required"]
    failure = cases["field-mapping"].find("failure")
    assert failure.get("message").endswith(HOSTILE)
    assert "mapped fields" in failure.text  # the check's description, for whoever reads CI
    assert cases["auth-required"].find("skipped") is not None
    assert cases["schema"].find("failure") is None
    url = suite.find("properties/property").get("value")
    assert url == "https://cpi.example/http/hybris_sms/status"  # no credentials, no query


def test_json_report():
    document = reports.as_json(_result())
    assert document["passed"] is False and document["counts"] == {"pass": 1, "fail": 1, "skip": 1}
    assert document["statusUrl"] == "https://cpi.example/http/hybris_sms/status"
    assert [c["check"] for c in document["checks"]] == ["schema", "field-mapping", "auth-required"]
    assert all(c["description"] for c in document["checks"])
    json.dumps(document)


class _Visible(HTMLParser):
    """Text per element id / table row, as a person reads the page."""

    def __init__(self):
        super().__init__()
        self.rows, self.summary, self.scripts, self.external = [], "", 0, []
        self._row, self._in_summary, self._cell = None, False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if attrs.get(name):
                self.external.append(attrs[name])
        if tag == "tr":
            self._row = []
        if tag == "td":
            self._cell = ""
        self._in_summary = attrs.get("id") == "summary" or self._in_summary

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        if tag == "tr" and self._row:
            self.rows.append(self._row)
        if tag == "p":
            self._in_summary = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_summary:
            self.summary += data


def _render(path, tmp_path, *what: str) -> subprocess.CompletedProcess:
    return browser.run(path.as_uri(), *what)


def test_the_html_report_renders_in_chromium_as_a_person_reads_it(tmp_path):
    path = tmp_path / "report.html"
    htmlreport.write_html(_result(), str(path))
    dom = _render(path, tmp_path, "--dump-dom").stdout
    page = _Visible()
    page.feed(dom)
    assert page.summary.strip() == "1 of 3 failed (1 passed, 1 failed, 1 skipped)"
    assert [row[:2] for row in page.rows] == [
        ["schema", "PASS"],
        ["field-mapping", "FAIL"],
        ["auth-required", "skip"],
    ]
    assert HOSTILE in page.rows[1][2]  # shown as text, never run
    assert page.scripts == 0 and page.external == []
    assert re.search(r"<title>smsbounce verify: 1 of 3 failed", dom)
    shot = tmp_path / "report.png"
    _render(path, tmp_path, f"--screenshot={shot}", "--window-size=1200,800")
    assert shot.stat().st_size > 10_000  # a drawn page, not a blank one
