"""The query and form parser's ASCII path (``request_params._ascii_pairs``) reads every ASCII
input exactly as its general path, ``urllib.parse.parse_qsl`` (``_any_pairs``), does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbounce.buffer.errors import InvalidParameter
from smsbounce.buffer.request_params import (
    MAX_PARAMETERS,
    _any_pairs,
    _ascii_pairs,
    parse_pairs,
)

# What moves the parser: separators, escapes (valid, broken, of bytes that are not UTF-8, of a
# percent sign, those replaced first in either case), pluses, hex digits to follow a %.
PIECES = ["&", "=", "+", "%", "%2B", "%2b", "%20", "%3A", "%3a", "%25", "%C3%A9", "%E9", "%zz"]
PIECES += ["%4", "a", "B", "0", "2", " ", ";"]


def _reference(raw: bytes, max_fields: int):
    found = _any_pairs(raw, max_fields)  # parse_qsl itself, the general path
    return "too many" if found is None else found


def _ours(raw: bytes, max_fields: int):
    found = _ascii_pairs(raw.decode("ascii"), max_fields)
    return "too many" if found is None else found


@given(st.lists(st.sampled_from(PIECES), max_size=40), st.integers(1, 8))
def test_the_ascii_path_reads_what_parse_qsl_reads(pieces, max_fields):
    raw = "".join(pieces).encode("ascii")
    assert _ours(raw, max_fields) == _reference(raw, max_fields)


@given(st.text(st.characters(max_codepoint=127), max_size=60))
def test_any_ascii_text_too(text):
    raw = text.encode("ascii")
    assert _ours(raw, MAX_PARAMETERS) == _reference(raw, MAX_PARAMETERS)


def test_a_real_report_query():
    query = (
        b"orderID=B1-1-42&time=101010&date=07122026&msisdn=%2B49123456789"
        b"&status=0x4503%20Message%201%20of%20the%20order&empty=&bare"
    )
    assert parse_pairs(query, MAX_PARAMETERS, "query string") == _reference(query, MAX_PARAMETERS)


def test_one_parameter_too_many_is_named_as_such():
    query = "&".join(f"p{i}=v" for i in range(MAX_PARAMETERS + 1)).encode()
    with pytest.raises(InvalidParameter, match=f"more than {MAX_PARAMETERS} parameters"):
        parse_pairs(query, MAX_PARAMETERS, "query string")
    assert len(parse_pairs(query.rsplit(b"&", 1)[0], MAX_PARAMETERS, "query string")) == 64
