"""``json.dumps(value)`` with every default, from one encoder made once: CPython's ``dumps``
makes a new one at every call (3.11's ``JSONEncoder.iterencode``), which cost each report's
answer and raw record more than the encoding itself (1.8 against 0.6 µs for an answer).

No check for circular references: what is encoded here was decoded or built as a tree.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii

try:
    from json.encoder import c_make_encoder
except ImportError:  # an interpreter without json's C speedups
    c_make_encoder = None

_DEFAULTS = json.JSONEncoder()
_ENCODER = (
    None
    if c_make_encoder is None
    else c_make_encoder(
        None,  # markers: no circular check
        _DEFAULTS.default,
        encode_basestring_ascii,
        None,  # indent
        ": ",
        ", ",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
)


def dumps(value) -> str:
    """What ``json.dumps(value)`` returns."""
    if _ENCODER is None:
        return json.dumps(value)
    return "".join(_ENCODER(value, 0))
