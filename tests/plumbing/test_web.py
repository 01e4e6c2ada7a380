"""The password rule for production (pure)."""

import pytest

from smsbounce.plumbing.web import weak_password


@pytest.mark.parametrize(
    ("password", "weak"),
    [
        ("change-me", True),
        ("fifteen-chars-x", True),
        ("a" * 40, True),
        ("abababababababababab", True),
        ("correct-horse-battery", False),
        ("Zq3$hT9!xL0pV7&e", False),
    ],
)
def test_a_password_needs_length_and_variety(password, weak):
    assert (weak_password(password) is not None) is weak
