"""docs/spec.md §3 as tables: DI report → record, without HTTP."""

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbounce.buffer.providers.di import map_di_report
from smsbounce.buffer.reports import (
    InvalidParameter,
    Outcome,
    clean_text,
    in_utc,
    to_status_item,
    without_controls,
)
from smsbounce.buffer.settings import load_status_table
from smsbounce.contracts.wire import format_utc
from tests.helpers import ARTICLE_RECORD

DI = load_status_table()
UTC = ZoneInfo("UTC")


def report(**overrides):
    params = {
        "orderid": "42",
        "time": "101500",
        "date": "01022026",
        "msisdn": "+4915112345678",
        "status": "0x4503 out of coverage",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_the_articles_example_after_url_decoding():
    # What the article's URL becomes once decoded: both + signs turned into spaces, quotes kept.
    params = {
        "orderid": "123456789",
        "time": "155423",
        "date": "14032018",
        "msisdn": " 49123456789",
        "status": "'0x4503 Message 1 of the order 1636010434 at destination of  49123456789 "
        "is out of coverage'",
    }
    assert to_status_item(map_di_report(params, DI, UTC)) == ARTICLE_RECORD


@pytest.mark.parametrize(
    ("status", "outcome", "code", "text"),
    [
        ("0xDBF3 provider is retrying", Outcome.TEMPORARY, "0xDBF3", "provider is retrying"),
        ("0xdbf3 lower case", Outcome.TEMPORARY, "0xDBF3", "lower case"),
        ("OxDBF3 letter O prefix", Outcome.TEMPORARY, "0xDBF3", "letter O prefix"),
        ("0x4524 blacklisted", Outcome.PERMANENT, "0x4524", "blacklisted"),
        ("0xDB78 out of credit", Outcome.PERMANENT, "0xDB78", "out of credit"),
        ("0x9999 a code nobody listed", Outcome.PERMANENT, "0x9999", "a code nobody listed"),
        ('"0xDB65 validity expired"', Outcome.PERMANENT, "0xDB65", "validity expired"),
        ("0xDB05", Outcome.PERMANENT, "0xDB05", "0xDB05"),
        ("0x451A delivered to handset", Outcome.DELIVERED, "0x451A", "delivered to handset"),
        ("0x450E accepted by platform", Outcome.INTERMEDIATE, "0x450E", "accepted by platform"),
        ("0x450A SMSC acknowledgement", Outcome.INTERMEDIATE, "0x450A", "SMSC acknowledgement"),
        ("Message delivered", Outcome.DELIVERED, "", "Message delivered"),
        (
            "0x45031 not a code: five digits",
            Outcome.DELIVERED,
            "",
            "0x45031 not a code: five digits",
        ),
        ("tab\tand\nnewline 0x4503", Outcome.DELIVERED, "", "tab and newline 0x4503"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_status_splits_into_code_text_and_outcome(status, outcome, code, text):
    record = map_di_report(report(status=status), DI, UTC)
    assert (record.outcome, record.status_code, record.status_text) == (outcome, code, text)
    assert record.is_bounce == (outcome in (Outcome.TEMPORARY, Outcome.PERMANENT))


def test_long_status_text_is_truncated_not_rejected():
    record = map_di_report(report(status="0x4503 " + "x" * 600), DI, UTC)
    assert record.status_text == "x" * 250


def test_plus_restored_only_where_it_was_lost():
    # The text is then cleaned as every provider's is (runs of white space become one space).
    kept = map_di_report(report(msisdn="+49151", status="0x4503 to  49151 failed"), DI, UTC)
    assert (kept.recipient, kept.status_text) == ("+49151", "to 49151 failed")
    lost = map_di_report(report(msisdn=" 49151", status="0x4503 to  49151 and  491510"), DI, UTC)
    assert (lost.recipient, lost.status_text) == ("+49151", "to +49151 and 491510")


def test_national_number_without_plus_is_kept_as_sent():
    assert map_di_report(report(msisdn="015112345678"), DI, UTC).recipient == "015112345678"


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", "20260201101500"),
        ("Europe/Berlin", "20260201091500"),
        ("America/New_York", "20260201151500"),
    ],
)
def test_event_time_converted_from_provider_timezone(zone, expected):
    assert map_di_report(report(), DI, ZoneInfo(zone)).timestamp == expected


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"orderid": None}, "orderID"),
        ({"orderid": "  "}, "orderID"),
        ({"orderid": "x" * 65}, "orderID"),
        ({"orderid": "has space"}, "orderID"),
        ({"time": None}, "time"),
        ({"time": "1015"}, "time"),
        ({"time": "251500"}, "time"),
        ({"date": None}, "date"),
        ({"date": "2026-02-01"}, "date"),
        ({"date": "31022026"}, "date"),
        ({"msisdn": None}, "msisdn"),
        ({"msisdn": "+49 151"}, "msisdn"),
        ({"msisdn": "phone"}, "msisdn"),
        ({"msisdn": "+" + "1" * 25}, "msisdn"),
        ({"status": None}, "status"),
        ({"status": ""}, "status"),
        ({"status": "0x4503 " + "x" * 1000}, "status"),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else value,
)
def test_invalid_reports_name_the_parameter(overrides, parameter):
    with pytest.raises(InvalidParameter) as caught:
        map_di_report(report(**overrides), DI, UTC)
    assert caught.value.parameter == parameter
    assert parameter in str(caught.value)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("out of coverage", "out of coverage"),
        ("out\x00of\x1fcoverage", "out of coverage"),
        ("out\x7f\x85\x9fof  \t coverage\n", "out of coverage"),
        ("out\ud800of coverage", "out\ufffdof coverage"),
        ("Zustellung fehlgeschlagen – Ärger", "Zustellung fehlgeschlagen – Ärger"),
    ],
    ids=["plain", "nul-and-c0", "del-c1-whitespace", "lone-surrogate", "non-ascii"],
)
def test_free_text_is_cleaned_the_same_for_every_database(text, kept):
    assert clean_text(text) == kept


@given(st.text(st.characters(exclude_categories=())))  # lone surrogates too
def test_text_is_cleaned_by_every_pass_or_has_nothing_they_change(text):
    """``without_controls`` skips its passes for printable ASCII: what they give every text."""
    passes = re.sub(r"[\ud800-\udfff]", "\ufffd", re.sub(r"[\x00-\x1f\x7f-\x9f]+", " ", text))
    assert without_controls(text) == passes
    assert clean_text(text) == " ".join(passes.split())


@pytest.mark.parametrize(
    ("moment", "timestamp"),
    [
        (datetime(1, 1, 1, 12, 0, tzinfo=timezone.utc), "00010101120000"),
        (datetime(1, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=1))), "00010101010000"),
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc), "99991231235959"),
    ],
    ids=["year-1-utc", "year-1-east-but-not-over", "year-9999-utc"],
)
def test_every_time_a_timestamp_can_hold_is_kept_padded(moment, timestamp):
    assert format_utc(in_utc(moment, "t")) == timestamp


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
    ],
    ids=["before-year-1", "after-year-9999"],
)
def test_a_time_that_leaves_the_timestamps_years_is_refused_by_name(moment):
    with pytest.raises(InvalidParameter) as caught:
        in_utc(moment, "doneAt")
    assert caught.value.parameter == "doneAt" and "doneAt" in str(caught.value)


def _strptime_timestamp(date: str, time: str) -> str | None:
    """What DI's date and time meant when strptime read them (UTC), None when it refused."""
    try:
        moment = datetime.strptime(date + time, "%d%m%Y%H%M%S")
    except ValueError:
        return None
    return format_utc(moment)


@pytest.mark.parametrize(
    ("date", "time", "timestamp"),
    [
        ("29022024", "101500", "20240229101500"),
        ("29022000", "101500", "20000229101500"),
        ("29022023", "101500", None),
        ("29021900", "101500", None),
        ("31042026", "101500", None),
        ("00022026", "101500", None),
        ("32012026", "101500", None),
        ("01002026", "101500", None),
        ("01132026", "101500", None),
        ("01010000", "101500", None),
        ("01010001", "000000", "00010101000000"),
        ("31129999", "235959", "99991231235959"),
        ("01022026", "240000", None),
        ("01022026", "236000", None),
        ("01022026", "235960", None),
        ("01022026", "235961", None),
    ],
)
def test_date_and_time_are_read_as_strptime_read_them(date, time, timestamp):
    assert _strptime_timestamp(date, time) == timestamp
    if timestamp is not None:
        assert map_di_report(report(date=date, time=time), DI, UTC).timestamp == timestamp
        return
    with pytest.raises(InvalidParameter) as caught:
        map_di_report(report(date=date, time=time), DI, UTC)
    wrong = "date" if _strptime_timestamp(date, "000000") is None else "time"
    assert caught.value.parameter == wrong
    what = "valid calendar date" if wrong == "date" else "valid time of day"
    assert what in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "parameter", "message"),
    [
        ({"date": "0102202a"}, "date", "date must be DDMMYYYY"),
        ({"date": "01.02.26"}, "date", "date must be DDMMYYYY"),
        ({"date": "\u0660\u0661\u0660\u0662\u0662\u0660\u0662\u0666"}, "date", "DDMMYYYY"),
        ({"date": "+1022026"}, "date", "date must be DDMMYYYY"),
        ({"date": "1022026"}, "date", "date must be DDMMYYYY"),
        ({"date": "010220260"}, "date", "date must be DDMMYYYY"),
        ({"time": "10150a"}, "time", "time must be HHMMSS"),
        ({"time": "1_1500"}, "time", "time must be HHMMSS"),
        ({"time": "10150"}, "time", "time must be HHMMSS"),
        ({"time": "1015000"}, "time", "time must be HHMMSS"),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else None,
)
def test_a_date_or_time_that_is_not_all_digits_of_its_length_is_refused(
    overrides, parameter, message
):
    with pytest.raises(InvalidParameter) as caught:
        map_di_report(report(**overrides), DI, UTC)
    assert caught.value.parameter == parameter and message in str(caught.value)


def test_every_day_month_and_time_of_a_grid_reads_as_strptime_read_it():
    years = ("0000", "0001", "1900", "1996", "2000", "2023", "2024", "2100", "9999")
    dates = [f"{d:02d}{m:02d}{y}" for y in years for m in range(14) for d in range(33)]
    times = [
        f"{h:02d}{m:02d}{s:02d}"
        for h in (0, 9, 23, 24, 29)
        for m in (0, 59, 60)
        for s in (0, 59, 60, 61, 99)
    ]
    cases = [(date, "101500") for date in dates] + [("01022026", time) for time in times]
    for date, time in cases:
        try:
            got = map_di_report(report(date=date, time=time), DI, UTC).timestamp
        except InvalidParameter:
            got = None
        assert got == _strptime_timestamp(date, time), (date, time)


@pytest.mark.parametrize(
    ("message_id", "accepted"),
    [("café1", True), ("Ωmega-7", True), ("caf é", False), ("x" * 65, False)],
    ids=["non-ascii", "greek", "space", "too-long"],
)
def test_di_and_every_other_profile_share_the_message_id_rule(message_id, accepted):
    from smsbounce.buffer.providers import Incoming, load_profiles
    from smsbounce.buffer.reports import Rejected, Report
    from smsbounce.buffer.settings import Settings

    profiles = load_profiles(Settings())
    di_query = report(orderid=message_id)
    vonage_query = {
        "messageid": message_id,
        "msisdn": "4915112345678",
        "scts": "2602011015",
        "status": "failed",
        "err-code": "2",
    }
    [di] = profiles["di"].parse(Incoming(method="GET", url="", query=di_query))
    [vonage] = profiles["vonage"].parse(Incoming(method="GET", url="", query=vonage_query))
    if accepted:
        assert isinstance(di, Report) and isinstance(vonage, Report)
        assert di.message_id == vonage.message_id == message_id
    else:
        assert isinstance(di, Rejected) and isinstance(vonage, Rejected)
        # The same rule, in the same words, each naming its provider's own parameter.
        assert str(di).replace("orderID", "ID") == str(vonage).replace("messageId", "ID")
