"""Reconciliation of served bounces with the provider's ground truth: one table of cases."""

from __future__ import annotations

import re

import pytest

from smsbounce.simulators.marketing.reconcile import reconcile
from smsbounce.simulators.marketing.report import counted, table, verdict
from tests.simulators.marketing.helpers import item, report, served, truth

T1, T2, T3 = "20260101120000", "20260101120005", "20260101120009"
SOFT = item("1001", "Temporary", "0xDBF3", T1)
HARD = item("1001", "Permanent", "0xDB65", T2)
SOFT_REPORT = report("Temporary", "0xDBF3", T1)
HARD_REPORT = report("Permanent", "0xDB65", T2)
DELIVERED_REPORT = report("delivered", "0x451A", T2)

# (ground truth of message 1001, items served in order, expected totals that are not zero)
CASES = {
    "delivered-nothing-served": ([DELIVERED_REPORT], None, [], {}),
    "hard-served-once": ([HARD_REPORT], HARD, [HARD], {}),
    "soft-then-hard-served-is-an-update": ([SOFT_REPORT, HARD_REPORT], HARD, [SOFT, HARD], {}),
    "soft-and-hard-in-one-window": ([SOFT_REPORT, HARD_REPORT], HARD, [HARD], {}),
    "soft-then-delivered-owes-the-soft": ([SOFT_REPORT, DELIVERED_REPORT], SOFT, [SOFT], {}),
    "newer-soft-served-again": (
        [SOFT_REPORT, report("Temporary", "0xDBF3", T3)],
        item("1001", "Temporary", "0xDBF3", T3),
        [SOFT, item("1001", "Temporary", "0xDBF3", T3)],
        {},
    ),
    "never-served-is-lost": ([HARD_REPORT], HARD, [], {"lost": 1}),
    "only-the-soft-served-loses-the-hard": (
        [SOFT_REPORT, HARD_REPORT],
        HARD,
        [SOFT],
        {"lost": 1},
    ),
    "same-state-twice": ([HARD_REPORT], HARD, [HARD, HARD], {"twice": 1}),
    "went-backwards": ([SOFT_REPORT, HARD_REPORT], HARD, [HARD, SOFT], {"twice": 1}),
    "bounce-for-a-delivered-message": ([DELIVERED_REPORT], None, [HARD], {"unexpected": 1}),
    "bounce-whose-report-was-dropped": (
        [report("Permanent", "0xDB65", T2, state="dropped")],
        None,
        [HARD],
        {"unexpected": 1, "dropped": 1},
    ),
    "right-state-wrong-reason": (
        [HARD_REPORT],
        HARD,
        [{**HARD, "statusText": "'quoted'"}],
        {"unexpected": 1},
    ),
    "hard-lost-after-retries-owes-the-soft": (
        [SOFT_REPORT, report("Permanent", "0xDB65", T2, state="lost")],
        SOFT,
        [SOFT],
        {"dropped": 1},
    ),
    "dropped-delivery-report": (
        [report("delivered", "0x451A", T2, state="dropped")],
        None,
        [],
        {"dropped": 1},
    ),
}


@pytest.mark.parametrize(("reports", "expected", "items", "nonzero"), CASES.values(), ids=CASES)
def test_reconcile_one_message(reports, expected, items, nonzero):
    result = reconcile([truth("1001", reports, expected)], served(*items), {"1001": "mc-1"})
    totals = result.totals
    failures = {k: totals[k] for k in ("lost", "twice", "unexpected", "dropped") if totals[k]}
    assert failures == nonzero, result.problems()
    assert result.ok == (not {"lost", "twice", "unexpected"} & set(nonzero))
    assert (result.problems() == []) == result.ok
    message = result.messages[0]
    assert (message.marketing_id, message.times_served) == ("mc-1", len(items))


def test_unknown_ids_are_unexpected_and_totals_add_up():
    messages = [
        truth("1", [DELIVERED_REPORT]),
        truth("2", [report("Permanent", "0x4503", T1)], item("2", code="0x4503", timestamp=T1)),
        truth("3", [SOFT_REPORT], item("3", "Temporary", "0xDBF3", T1), final_type="Temporary"),
    ]
    result = reconcile(
        messages,
        served(
            item("2", code="0x4503", timestamp=T1),
            item("3", "Temporary", "0xDBF3", T1),
            item("999"),
        ),
        rejected=2,
        failed=1,
    )
    totals = result.totals
    assert totals["sent"] == 6 and totals["accepted"] == 3
    assert (totals["delivered"], totals["hard"], totals["soft"]) == (1, 1, 1)
    assert (totals["owed"], totals["served"], totals["unexpected"]) == (2, 3, 1)
    assert result.problems() == ["999: served, but no message was sent with this id"]
    assert not result.ok
    assert "1 unexpected" in verdict(result)


def test_unsettled_messages_are_reported():
    result = reconcile([truth("1", [HARD_REPORT], None, settled=False)], [])
    assert result.totals["unsettled"] == 1
    assert result.problems() == ["1: the provider had not settled this message's reports"]


def test_table_shows_failures_and_hides_empty_optional_rows():
    result = reconcile([truth("1001", [HARD_REPORT], HARD)], [])
    text = table(result)
    assert re.search(r"lost in the middle +1 ", text), text
    assert "rejected" not in text and "unsettled" not in text
    assert verdict(result).startswith("RECONCILIATION FAILED: 1 lost in the middle")


def test_a_bounce_served_again_in_a_stronger_state_says_why_served_exceeds_owed():
    soft_then_hard = truth("1001", [SOFT_REPORT, HARD_REPORT], HARD)
    result = reconcile([soft_then_hard], served(SOFT, HARD))
    totals = result.totals
    assert (totals["owed"], totals["served"], totals["again"]) == (1, 2, 1) and result.ok
    assert re.search(r"\n    served again +1   a stronger or newer report replaced", table(result))
    once = reconcile([soft_then_hard], served(HARD))
    assert "\n    served again" not in table(once)


def test_counts_agree_with_their_nouns():
    assert [counted(n, "window") for n in (0, 1, 2)] == ["0 windows", "1 window", "2 windows"]
    assert counted(1, "batch", "batches") == "1 batch" and counted(3, "batch", "batches") == (
        "3 batches"
    )
