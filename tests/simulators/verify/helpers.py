"""Running ``smsbounce verify`` from tests: in-process, settle lag 0, verdicts by name."""

from __future__ import annotations

import json

from click.testing import CliRunner

from smsbounce.simulators.verify.__main__ import main
from smsbounce.simulators.verify.runner import Options, Result, run

# Our buffer in these tests serves pages of SMALL_PAGE; a burst of SMALL_VOLUME then fills the
# round trip's window with several pages (SMALL_VOLUME + the 8 other bounces of a run).
SMALL_PAGE, SMALL_VOLUME = 5, 20


def verify_cli(tmp_path, *args: str, env: dict[str, str] | None = None):
    """Run the command; return (exit code, stdout table, stderr, JSON report or None)."""
    report = tmp_path / "verify.json"
    result = CliRunner().invoke(
        main, [*args, "--json", str(report)], catch_exceptions=False, env=env
    )
    document = json.loads(report.read_text()) if report.exists() else None
    return result.exit_code, result.stdout, result.stderr, document


def verify(status_url: str, auth=None, ingest_url: str | None = None, **overrides) -> Result:
    """Run every check without the command line (settle lag 0: tests never wait for it)."""
    user, password = auth or (None, None)
    values = dict(settle_lag=0.0, timeout=10.0, max_latency=5.0)
    values.update(overrides)
    return run(Options(status_url, user, password, ingest_url, **values))


def failed_checks(result: Result) -> list[str]:
    return [v.check for v in result.verdicts if v.failed]


def verdicts(result: Result) -> dict[str, str]:
    return {v.check: v.verdict for v in result.verdicts}
