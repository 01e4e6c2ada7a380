"""``plumbing.jsontext.dumps``: ``json.dumps`` from an encoder made once, byte for byte."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbounce.plumbing.jsontext import dumps

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_VALUES)
def test_what_json_dumps_writes(value):
    assert dumps(value) == json.dumps(value)


@pytest.mark.parametrize("value", [object(), {(1,): 2}, [{1, 2}]])
def test_what_json_dumps_refuses_it_refuses_alike(value):
    with pytest.raises(TypeError) as ours:
        dumps(value)
    with pytest.raises(TypeError) as theirs:
        json.dumps(value)
    assert str(ours.value) == str(theirs.value)
