"""A self-contained HTML report: inline CSS, no script, no external asset (a CSP forbids any)."""

from __future__ import annotations

from html import escape

from .reports import DESCRIPTIONS, WORDS, counts, public_url, summary
from .runner import Result
from .verdict import FAIL

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
.summary { font-size: 1.2em; padding: .6em 1em; border-radius: 6px; }
.summary.ok { background: #e3f4e1; } .summary.bad { background: #fbe3e1; }
table { border-collapse: collapse; width: 100%; margin-top: 1em; }
th, td { text-align: left; vertical-align: top; padding: .45em .6em; }
th, td { border-bottom: 1px solid #ddd; }
td.verdict { font-weight: bold; white-space: nowrap; }
tr.pass td.verdict { color: #1d7a1d; } tr.fail td.verdict { color: #b3261e; }
tr.skip td.verdict { color: #777; } tr.fail { background: #fff5f4; }
td.check { font-family: ui-monospace, monospace; white-space: nowrap; }
td .why { color: #666; font-size: .9em; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; color: #555; }
dt { font-weight: bold; }
"""


def render(result: Result) -> str:
    c = counts(result)
    rows = "\n".join(
        f'<tr class="{v.verdict}"><td class="check">{escape(v.check)}</td>'
        f'<td class="verdict">{WORDS[v.verdict]}</td>'
        f"<td>{escape(v.evidence)}"
        f'<div class="why">{escape(DESCRIPTIONS.get(v.check, ""))}</div></td></tr>'
        for v in result.verdicts
    )
    facts = {
        "Status URL": public_url(result.options.status_url),
        "Round trip": (
            f"{result.options.provider} reports tagged {result.prefix}"
            if result.prefix
            else "not run"
        ),
        "Settle lag": f"{result.options.settle_lag:g} s",
        "Started": result.started.isoformat(timespec="seconds"),
        "Finished": result.finished.isoformat(timespec="seconds"),
    }
    facts_html = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
    notes = "".join(f"<p>Note: {escape(note)}</p>" for note in result.notes)
    state = "bad" if c[FAIL] else "ok"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smsbounce verify: {escape(summary(result))}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>smsbounce verify</h1>
<p class="summary {state}" id="summary">{escape(summary(result))}</p>
<dl>{facts_html}</dl>
{notes}
<table id="checks">
<thead><tr><th>Check</th><th>Verdict</th><th>Evidence</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def write_html(result: Result, path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(render(result))
