"""The raw record's query string: every other parameter kept byte for byte, the token cut."""

import pytest

from smsbounce.buffer.raw_requests import without_token


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        (
            "orderid=1&msisdn=%2B49151&status=0x4503%20x",
            "orderid=1&msisdn=%2B49151&status=0x4503%20x",
        ),
        ("token=abc&orderid=1", "orderid=1"),
        ("orderid=1&TOKEN=abc", "orderid=1"),
        ("%74oken=abc&orderid=1", "orderid=1"),
        ("T%6Fken=abc&orderid=1", "orderid=1"),
        ("token&orderid=1", "orderid=1"),
        ("to+ken=abc&orderid=1", "to+ken=abc&orderid=1"),
        ("tokens=abc&a=token", "tokens=abc&a=token"),
        ("a=1&&b=2&", "a=1&b=2"),
        ("", ""),
    ],
    ids=[
        "none",
        "first",
        "upper-case",
        "escaped",
        "escaped-mixed-case",
        "no-value",
        "plus-is-a-space",
        "only-the-name-counts",
        "empty-pairs",
        "empty",
    ],
)
def test_the_token_is_cut_from_the_query_in_any_spelling(query, kept):
    assert without_token(query) == kept
