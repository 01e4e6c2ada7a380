"""The pure parts of verify, without HTTP: item rules, windows, the report plan, verdicts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import pytest

from smsbounce.simulators.verify import plan as roundtrip_plan
from smsbounce.simulators.verify import readside
from smsbounce.simulators.verify.runner import roundtrip_windows
from smsbounce.simulators.verify.walk import Walk
from smsbounce.simulators.verify.wire import Exchange

GOOD = {
    "messageId": "1634731244",
    "recipient": "+49123456789",
    "statusCode": "0x4503",
    "statusText": "out of coverage",
    "type": "Permanent",
    "timestamp": "20180424092754",
}


@pytest.mark.parametrize(
    "change, problem",
    [
        ({}, None),
        ({"messageId": "x" * 65}, "messageId has 65 characters (allowed 1–64)"),
        ({"messageId": ""}, "messageId has 0 characters (allowed 1–64)"),
        ({"recipient": "+" + "1" * 25}, "recipient has 26 characters (allowed 1–25)"),
        ({"statusCode": "0x4503-long"}, "statusCode has 11 characters (allowed 0–10)"),
        ({"statusText": "t" * 251}, "statusText has 251 characters (allowed 0–250)"),
        ({"statusText": "t" * 250}, None),
        ({"type": "Permantent"}, "type 'Permantent' is neither Temporary nor Permanent"),
        ({"type": "permanent"}, "type 'permanent' is neither Temporary nor Permanent"),
        ({"timestamp": "20180231092754"}, "timestamp '20180231092754' is not a real time"),
        ({"timestamp": "2018042409275"}, "timestamp has 13 characters (allowed 14–14)"),
        ({"timestamp": "2018-04-24T09:"}, "timestamp '2018-04-24T09:' is not a real time"),
        ({"type": 7, "messageId": 12}, None),  # JSON types are the schema check's
    ],
    ids=lambda v: json.dumps(v)[:40] if isinstance(v, dict) else str(v)[:30],
)
def test_item_field_rules(change, problem):
    found = readside.field_problems({**GOOD, **change})
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(problem), found


def _page(body, status=200, content_type="application/json", seconds=0.01) -> Exchange:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return Exchange("GET ?page", status, content_type, data, seconds)


def _walk(*bodies) -> Walk:
    return Walk(("20260101000000", "20260101010000"), [_page(b) for b in bodies])


def _side(*walks, **kwargs) -> readside.ReadSide:
    return readside.ReadSide(list(walks), **kwargs)


def _item(message_id):
    return {**GOOD, "messageId": message_id}


TWO_PAGES = (
    {"page": "0", "lastPage": False, "status": [_item("a")]},
    {"page": "1", "lastPage": True, "status": [_item("b")]},
    {"page": "2", "lastPage": True, "status": []},
)
EMPTY = (
    {"page": "0", "lastPage": True, "status": []},
    {"page": "1", "lastPage": True, "status": []},
)


@pytest.mark.parametrize(
    "walk, check, verdict, evidence",
    [
        (_walk(*TWO_PAGES), readside.last_page, "pass", "lastPage right on 2 pages"),
        (_walk(*EMPTY), readside.last_page, "pass", "lastPage right on 1 pages"),
        (
            _walk({**TWO_PAGES[0], "lastPage": True}, *TWO_PAGES[1:]),
            readside.last_page,
            "fail",
            "page=0 of 20260101000000..20260101010000 → lastPage true but page 1 has 1 items",
        ),
        (
            _walk({**TWO_PAGES[0], "lastPage": "false"}, *TWO_PAGES[1:]),
            readside.last_page,
            "fail",
            'lastPage "false" is not a boolean',
        ),
        (_walk(*TWO_PAGES), readside.past_end, "pass", "1 pages past the end"),
        (
            _walk(*TWO_PAGES[:2], {**TWO_PAGES[2], "lastPage": False}),
            readside.past_end,
            "fail",
            "page=2 of 20260101000000..20260101010000 (past the end) → lastPage false",
        ),
        (
            _walk({**TWO_PAGES[0], "page": 0}, *TWO_PAGES[1:]),
            readside.page_echo,
            "fail",
            "page=0 of 20260101000000..20260101010000 → page 0, expected '0'",
        ),
        (
            _walk({**TWO_PAGES[0], "page": 0}, *TWO_PAGES[1:]),
            readside.schema,
            "pass",
            "3 pages match",
        ),
        (
            _walk({**TWO_PAGES[0], "status": [{**GOOD, "statusText": 5}]}, *TWO_PAGES[1:]),
            readside.schema,
            "fail",
            "$.status[0].statusText: 5 is not of type 'string'",
        ),
        (
            _walk({**TWO_PAGES[0], "status": [{**GOOD, "statusText": "t" * 300}]}),
            readside.schema,
            "pass",
            "1 pages match",
        ),
        (
            _walk(TWO_PAGES[0], {**TWO_PAGES[1], "status": [_item("a")]}, TWO_PAGES[2]),
            readside.no_repeats,
            "fail",
            "messageId 'a' on pages 0, 1 of",
        ),
    ],
    ids=[
        "last-page-right",
        "last-page-empty-window",
        "last-page-premature",
        "last-page-a-string",
        "past-end-right",
        "past-end-not-last",
        "page-echo-a-number",
        "schema-leaves-page-to-page-echo",
        "schema-a-number-as-text",
        "schema-leaves-lengths-to-item-fields",
        "no-repeats-repeated",
    ],
)
def test_read_side_checks(walk, check, verdict, evidence):
    result = check(_side(walk))
    assert result.verdict == verdict, result
    assert evidence in result.evidence


@pytest.mark.parametrize(
    "status, message, verdict",
    [
        (400, "page must be a number", "pass"),
        (422, "no", "pass"),
        (500, "An internal server error occured: … with statusCode: 400.", "pass"),
        (500, "An internal server error occured: … with statusCode: 503.", "fail"),
        (500, "boom", "fail"),
        (200, "", "fail"),
    ],
    ids=["400", "422", "cpi-relayed-400", "cpi-relayed-503", "500", "200"],
)
def test_bad_parameters_must_be_rejected_by_the_endpoint(status, message, verdict):
    body = {"error": {"status": status, "message": message}}
    side = _side(bad_parameters=[_page(body, status=status)])
    assert readside.bad_parameters(side).verdict == verdict


def test_auth_required_is_skipped_without_credentials_and_latency_has_a_limit():
    assert readside.auth_required(_side(unauthenticated=None)).verdict == "skip"
    slow = Walk(("a", "b"), [_page(EMPTY[0], seconds=2.5)])
    verdict = readside.latency(_side(slow, max_latency=2))
    assert verdict.verdict == "fail" and "took 2.50 s (limit 2 s)" in verdict.evidence


def _utc(text):
    return datetime.strptime(text, "%H:%M:%S.%f").replace(2026, 2, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "t0, t1, lag, windows",
    [
        (
            "10:00:00.300",
            "10:00:00.900",
            0,
            [("20260201095900", "20260201100000"), ("20260201100000", "20260201100001")],
        ),
        (
            "10:00:00.300",
            "10:00:01.200",
            0,
            [
                ("20260201095900", "20260201100000"),
                ("20260201100000", "20260201100001"),
                ("20260201100001", "20260201100002"),
            ],
        ),
        (
            "10:00:00.300",
            "10:00:02.000",
            30,
            [
                ("20260201095900", "20260201100000"),
                ("20260201100000", "20260201100011"),
                ("20260201100011", "20260201100022"),
                ("20260201100022", "20260201100033"),
            ],
        ),
    ],
    ids=["within-a-second", "across-a-second", "settle-lag-30"],
)
def test_round_trip_windows_are_contiguous_and_cover_the_lag(t0, t1, lag, windows):
    assert roundtrip_windows(_utc(t0), _utc(t1), lag) == windows


def test_the_plan_tags_every_message_and_keeps_ids_short():
    prefix = roundtrip_plan.run_prefix()
    assert len(prefix) == roundtrip_plan.PREFIX_LENGTH and prefix != roundtrip_plan.run_prefix()
    plan = roundtrip_plan.plan(prefix, datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc))
    ids = {r.message_id for r in plan.reports}
    assert all(i.startswith(prefix) and len(i) <= 30 for i in ids)
    assert set(plan.expectations) == ids
    assert (
        len(plan.reports) == 264
        and sum(k.startswith(prefix + "b") for k in ids) == roundtrip_plan.BURST == 250
    )
    served = [e for e in plan.expectations.values() if e.record is not None]
    assert len(served) == 258 and all(e.record["messageId"] == e.message_id for e in served)


def test_the_article_example_goes_out_as_real_traffic_does():
    query = roundtrip_plan.article_query("sbv0123ab-art")
    assert "orderid=sbv0123ab-art" in query and "msisdn=+49123456789" in query
    assert "status='0x4503%20Message" in query and " " not in query
    decoded = dict(parse_qsl(query))
    assert decoded["msisdn"] == " 49123456789"  # what URL decoding makes of the raw +
