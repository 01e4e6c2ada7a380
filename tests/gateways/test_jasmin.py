"""Real Jasmin → the buffer's jasmin profile → Marketing, with the recipe from docs/providers.md.

One jasmind (RabbitMQ, Redis, an SMPP client connector to the test SMSC) sends every message
twice: its dlr-url pointing at a buffer on SQLite, then at one on PostgreSQL. The paths: receipts
delivered, undelivered, expired (text and TLV only), rejected, deleted, unknown; rejected and
throttled submits (level 1); line breaks, GSM and UCS-2 texts; an SMSC done date with seconds;
and a dlr-url without the recipient, which is quarantined — answered ACK/Jasmin, not served.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from tests.testenv import settings_for

from . import smsc as smpp
from .jasmin_gateway import Jasmin
from .recipes import recipe
from .smsc import Rule, Smsc
from .tap import Tap
from .verdict import Case, Expected, Verdict, judge_buffers, own_id_of
from .waiting import wait_until

ACK = b"ACK/Jasmin"
ENCODED_DLR_URL = "<the dlr-url, URL-encoded>"
RECEIPT_DELAY = 0.5  # Jasmin maps the SMSC's id to its own on submit_sm_resp; receipts come later
DLR_TIMEOUT = 30.0

CASES = [
    Case("delivered", "", Rule(stat="DELIVRD", delay=RECEIPT_DELAY)),
    Case("en route", "", Rule(stat="ENROUTE", delay=RECEIPT_DELAY)),
    Case("unknown", "", Rule(stat="UNKNOWN", delay=RECEIPT_DELAY)),
    Case(
        "undelivered",
        "",
        Rule(stat="UNDELIV", err="001", delay=RECEIPT_DELAY),
        expected=Expected("Permanent", "001", "UNDELIV (code 001)"),
    ),
    Case(
        "expired",
        "",
        Rule(stat="EXPIRED", err="027", delay=RECEIPT_DELAY),
        expected=Expected("Temporary", "027", "EXPIRED (code 027)"),
    ),
    Case(
        "expired, TLV only (fields ND)",
        "",
        Rule(stat="EXPIRED", tlvs=True, receipt=b"", delay=RECEIPT_DELAY),
        expected=Expected("Temporary", "", "EXPIRED"),
    ),
    Case(
        "rejected",
        "",
        Rule(stat="REJECTD", err="002", delay=RECEIPT_DELAY),
        expected=Expected("Permanent", "002", "REJECTD (code 002)"),
    ),
    Case(
        "deleted",
        "",
        Rule(stat="DELETED", err="000", delay=RECEIPT_DELAY),
        expected=Expected("Permanent", "000", "DELETED (code 000)"),
    ),
    Case(
        "submit rejected",
        "",
        Rule(submit_status=smpp.ESME_RINVDSTADR),
        expected=Expected(
            "Permanent", "", "rejected by the SMSC: invalid destination address (ESME_RINVDSTADR)"
        ),
    ),
    Case(
        "submit throttled",
        "",
        Rule(submit_status=smpp.ESME_RTHROTTLED),
        expected=Expected("Temporary", "", "the SMSC throttled the message (ESME_RTHROTTLED)"),
    ),
    Case(
        "line breaks",
        "",
        Rule(stat="UNDELIV", err="001", delay=RECEIPT_DELAY),
        text="Line one\nline two\r\nthree",
        expected=Expected("Permanent", "001", "UNDELIV (code 001)"),
    ),
    Case(
        "non-ASCII (GSM on the wire)",
        "",
        Rule(stat="UNDELIV", err="001", delay=RECEIPT_DELAY),
        text="Grüße café",
        expected=Expected("Permanent", "001", "UNDELIV (code 001)"),
    ),
    Case(
        "UCS-2",
        "",
        Rule(stat="UNDELIV", err="001", delay=RECEIPT_DELAY),
        text="Привет, café",
        send={"coding": "8"},
        expected=Expected("Permanent", "001", "UNDELIV (code 001)"),
    ),
    Case(
        "done date with seconds, err:1",
        "",
        Rule(
            receipt=b"id:{id} sub:001 dlvrd:000 submit date:2612011200 done date:261201120159 "
            b"stat:UNDELIV err:1 text:Hello from ACME",
            delay=RECEIPT_DELAY,
        ),
        expected=Expected("Permanent", "001", "UNDELIV (code 001)"),
    ),
    Case(
        "dlr-url without the recipient",
        "",
        Rule(stat="UNDELIV", err="001", delay=RECEIPT_DELAY),
        send={"no-recipient": "yes"},
        expected=Expected("Permanent", "001", "UNDELIV (code 001)"),
        served=False,
    ),
]


def numbered(run: int) -> list[tuple[str, Case]]:
    return [
        (f"j{run}-{n:02d}", replace(case, number=f"+4916{run}{n:07d}"))
        for n, case in enumerate(CASES)
    ]


def send_params(case: Case, tap: Tap) -> str:
    """The /send query: the message, then the documented receipt parameters verbatim."""
    dlr_url = recipe("jasmin-dlr-url").strip().replace("https://<host>", tap.url)
    number = "" if case.send.get("no-recipient") else quote(case.number, safe="")
    dlr_url = dlr_url.replace("?to=<recipient>", "" if not number else f"?to={number}")
    message = {"username": "test", "password": "test", "to": case.number, "from": "ACME"}
    if "coding" in case.send:
        message |= {
            "coding": case.send["coding"],
            "hex-content": case.text.encode("utf-16-be").hex(),
        }
    else:
        message["content"] = case.text
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in message.items())
    documented = recipe("jasmin-send").strip()
    return query + "&" + documented.replace(ENCODED_DLR_URL, quote(dlr_url, safe=""))


def run_jasmin(directory, interpreter: str, smsc: Smsc, buffers: dict) -> dict[str, Verdict]:
    runs = {name: numbered(run) for run, name in enumerate(buffers, 1)}
    for cases in runs.values():
        smsc.plan.update({case.number.lstrip("+"): case.rule for _, case in cases})
    taps = {name: Tap((server.host, server.port)) for name, server in buffers.items()}
    jasmin = Jasmin(interpreter, directory, smsc.port)
    by_id: dict[str, dict[str, Case]] = {name: {} for name in buffers}
    try:
        for name, cases in runs.items():
            for _, case in cases:
                status, body = jasmin.send_query(send_params(case, taps[name]))
                assert status == 200 and body.startswith("Success"), (status, body)
                by_id[name][body.split('"')[1]] = case  # Success "<Jasmin's message id>"
        for name, cases in by_id.items():
            failures = {i for i, c in cases.items() if c.expected}
            wait_until(
                lambda name=name, failures=failures: failures <= _final(taps[name].calls),
                timeout=DLR_TIMEOUT,
            )
    finally:
        jasmin.stop()
        for tap in taps.values():
            tap.stop()
    verdicts = judge_buffers(
        buffers,
        by_id,
        taps,
        smsc,
        taken=lambda call: 200 <= call.status < 300 and call.answer.strip() == ACK,
    )
    for name, server in buffers.items():
        held = {e.message_id for e in server.store.quarantine.entries()}
        unserved = {i for i, c in by_id[name].items() if not c.served}
        if held != unserved:
            verdicts[name].problems.append(f"quarantined {sorted(held)}, want {sorted(unserved)}")
    return verdicts


def _final(calls) -> set[str | None]:
    """Ids of the messages a failure report arrived for (a level-1 ESME_ROK is not one)."""
    return {
        own_id_of(call, "id")
        for call in calls
        if own_id_of(call, "message_status") not in (None, "ESME_ROK", "DELIVRD")
    }


def test_every_jasmin_failure_receipt_is_taken_and_served(
    jasmin_python, tmp_path, start_buffer, sqlite_url, postgres_url
):
    buffers = {
        "SQLite": start_buffer(settings_for(sqlite_url)),
        "PostgreSQL": start_buffer(settings_for(postgres_url)),
    }
    smsc = Smsc()
    try:
        verdicts = run_jasmin(tmp_path, jasmin_python, smsc, buffers)
    finally:
        smsc.close()
    for name, verdict in verdicts.items():
        print(f"Jasmin → {name}: {verdict.figures}")
    assert all(v.ok for v in verdicts.values()), "\n".join(
        f"{name}: {v.report()}" for name, v in verdicts.items()
    )
