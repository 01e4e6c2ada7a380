"""Real Kannel → the buffer's kannel profile → Marketing, with the recipe from docs/providers.md.

One bearerbox + smsbox, bound to the test SMSC, sends every message twice: once with the dlr-url
pointing at a buffer on SQLite, once at one on PostgreSQL. Each message walks one DLR path Kannel
has (delivered, undelivered, expired as receipt text and as TLV, rejected, en route, rejected
submits, temporary SMSC errors until Kannel gives up, a rejected multi-part SMS, receipts without
text, line breaks, non-ASCII on GSM, Latin-1 and UTF-8 links, UCS-2, odd receipt layouts).
One verdict per database: every failure DLR taken (2xx) and served with the right fields.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote

from tests.testenv import settings_for

from . import smsc as smpp
from .kannel_gateway import Kannel
from .recipes import recipe
from .smsc import Rule, Smsc
from .tap import Tap
from .verdict import Case, Expected, Verdict, judge_buffers, own_id_of
from .waiting import wait_until

RETRIES_EXCEEDED = "Kannel gave up after temporary SMSC errors (NACK/Retries Exceeded)"
BARE_NACK = "rejected by the SMSC without a reason (NACK/; e.g. a part of a multi-part SMS)"
NOT_DELIVERED = "not delivered to the phone (the SMSC's receipt has no text)"
EXPIRED = "expired (SMSC message state EXPIRED)"
TLV_ONLY = b""  # a receipt with nothing but the TLVs: Kannel's %A is empty
# Kannel gives up on a temporary SMSC error after sms-resend-retry tries, a second apart here.
DLR_TIMEOUT = 30.0

PERMANENT_001 = Expected("Permanent", "001")
CASES = [
    Case("delivered", "", Rule(stat="DELIVRD")),
    Case("en route", "", Rule(stat="ENROUTE")),
    Case("undelivered", "", Rule(stat="UNDELIV", err="001"), expected=PERMANENT_001),
    Case("expired", "", Rule(stat="EXPIRED", err="027"), expected=Expected("Temporary", "027")),
    Case(
        "expired, TLV",
        "",
        Rule(stat="EXPIRED", err="027", tlvs=True),
        expected=Expected("Temporary", "027"),
    ),
    Case("rejected", "", Rule(stat="REJECTD", err="002"), expected=Expected("Permanent", "002")),
    Case(
        "deleted, TLV only",
        "",
        Rule(stat="DELETED", tlvs=True, receipt=TLV_ONLY),
        expected=Expected("Permanent", "", NOT_DELIVERED),
    ),
    Case(
        "expired, TLV only",
        "",
        Rule(stat="EXPIRED", tlvs=True, receipt=TLV_ONLY),
        expected=Expected("Temporary", "", EXPIRED),
    ),
    Case(
        "submit rejected",
        "",
        Rule(submit_status=smpp.ESME_RINVDSTADR),
        expected=Expected("Permanent", "0x0000000b", "Invalid Destination Address"),
    ),
    Case(
        "throttled until Kannel gives up",
        "",
        Rule(submit_status=smpp.ESME_RTHROTTLED),
        expected=Expected("Temporary", "", RETRIES_EXCEEDED),
    ),
    Case(
        "queue full until Kannel gives up",
        "",
        Rule(submit_status=smpp.ESME_RMSGQFUL),
        expected=Expected("Temporary", "", RETRIES_EXCEEDED),
    ),
    Case(
        "multi-part, rejected",
        "",
        Rule(submit_status=smpp.ESME_RSUBMITFAIL),
        text="Long " * 60,
        expected=Expected("Permanent", "", BARE_NACK),
    ),
    Case(
        "line breaks",
        "",
        Rule(stat="UNDELIV", err="001"),
        text="Line one\nline two\r\nthree",
        expected=PERMANENT_001,
    ),
    Case(
        "non-ASCII, GSM link",
        "",
        Rule(stat="UNDELIV", err="001"),
        text="Grüße café",
        send={"smsc": "gsm"},
        expected=PERMANENT_001,
    ),
    Case(
        "non-ASCII, Latin-1 link",
        "",
        Rule(stat="UNDELIV", err="001"),
        text="Grüße café",
        send={"smsc": "latin1"},
        expected=PERMANENT_001,
    ),
    Case(
        "non-ASCII, UTF-8 link",
        "",
        Rule(stat="UNDELIV", err="001"),
        text="Grüße café",
        send={"smsc": "utf8"},
        expected=PERMANENT_001,
    ),
    Case(
        "UCS-2",
        "",
        Rule(stat="UNDELIV", err="001"),
        text="Привет, café",
        send={"coding": "2", "charset": "UTF-8"},
        expected=PERMANENT_001,
    ),
    Case(
        "Text: capitalised",
        "",
        Rule(stat="UNDELIV", err="001", text_label="Text"),
        expected=PERMANENT_001,
    ),
    Case(
        "fields reordered, short err",
        "",
        Rule(
            receipt=b"id:{id} stat:UNDELIV err:1 sub:001 dlvrd:000 submit date:2612011200 "
            b"done date:2612011201 text:Hello from ACME"
        ),
        expected=Expected("Permanent", "1"),
    ),
    Case(
        "stat in lower case",
        "",
        Rule(
            receipt=b"id:{id} sub:001 dlvrd:000 submit date:2612011200 done date:2612011201 "
            b"stat:undeliv err:001 text:Hello from ACME"
        ),
        expected=PERMANENT_001,
    ),
    Case(
        "numeric sender",
        "",
        Rule(stat="UNDELIV", err="001"),
        send={"from": "4930123456"},
        expected=PERMANENT_001,
    ),
]


ENCODED_DLR_URL = "<the dlr-url, URL-encoded>"


@dataclass(frozen=True)
class KannelRecipe:
    core: str  # lines for kannel.conf's core group
    smsbox: str  # lines for its smsbox group
    dlr_url: str  # with <host> and <id> to fill in
    send: str  # the sendsms parameters that go with it: <the dlr-url, URL-encoded>


def documented_recipe() -> KannelRecipe:
    return KannelRecipe(
        recipe("kannel-core"),
        recipe("kannel-smsbox"),
        recipe("kannel-dlr-url").strip(),
        recipe("kannel-sendsms").strip(),
    )


def numbered(cases: list[Case], run: int) -> dict[str, Case]:
    """The cases under message ids of their own (URL-safe), each with its own number."""
    return {
        f"k{run}-{n:02d}": replace(case, number=f"+4915{run}{n:07d}")
        for n, case in enumerate(cases)
    }


def sendsms_query(case: Case, message_id: str, tap: Tap, kannel_recipe: KannelRecipe) -> str:
    params = {"from": "ACME", "smsc": "gsm", **case.send}
    query = (
        f"username=test&password=test&to={quote(case.number, safe='')}&text="
        f"{quote(case.text, safe='')}&"
        + "&".join(f"{name}={quote(value, safe='')}" for name, value in params.items())
    )
    # The documentation speaks of https://<host>; the test's buffer listens on plain HTTP.
    dlr_url = kannel_recipe.dlr_url.replace("https://<host>", tap.url).replace("<id>", message_id)
    return query + "&" + kannel_recipe.send.replace(ENCODED_DLR_URL, quote(dlr_url, safe=""))


def run_kannel(directory, smsc: Smsc, buffers: dict, kannel_recipe: KannelRecipe) -> dict:
    """Send every case through one real Kannel to each buffer; a Verdict per buffer."""
    runs = {name: numbered(CASES, run) for run, name in enumerate(buffers, 1)}
    for cases in runs.values():
        smsc.plan.update({case.number.lstrip("+"): case.rule for case in cases.values()})
    taps = {name: Tap((server.host, server.port)) for name, server in buffers.items()}
    kannel = Kannel(directory, smsc.port, kannel_recipe.core, kannel_recipe.smsbox)
    try:
        for name, cases in runs.items():
            for message_id, case in cases.items():
                status, body = kannel.send(
                    sendsms_query(case, message_id, taps[name], kannel_recipe)
                )
                assert status == 202, f"sendsms answered {status} {body}"
        for name, cases in runs.items():
            failures = {i for i, c in cases.items() if c.expected}
            wait_until(
                lambda name=name, failures=failures: (
                    failures <= {own_id_of(call, "id") for call in taps[name].calls}
                ),
                timeout=DLR_TIMEOUT,
            )
    finally:
        kannel.stop()
        for tap in taps.values():
            tap.stop()
    # All smsbox retries on.
    return judge_buffers(buffers, runs, taps, smsc, taken=lambda call: call.status in (200, 202))


def test_every_kannel_failure_dlr_is_taken_and_served(
    kannel_binaries, tmp_path, start_buffer, sqlite_url, postgres_url
):
    buffers = {
        "SQLite": start_buffer(settings_for(sqlite_url)),
        "PostgreSQL": start_buffer(settings_for(postgres_url)),
    }
    smsc = Smsc()
    try:
        verdicts: dict[str, Verdict] = run_kannel(tmp_path, smsc, buffers, documented_recipe())
    finally:
        smsc.close()
    for name, verdict in verdicts.items():
        print(f"Kannel → {name}: {verdict.figures}")
    assert all(v.ok for v in verdicts.values()), "\n".join(
        f"{name}: {v.report()}" for name, v in verdicts.items()
    )
