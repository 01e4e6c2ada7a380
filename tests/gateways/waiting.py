"""Talking to a gateway: polling, never sleeping as synchronisation (its calls arrive when they
arrive), and plain GETs of its send interface."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds passed (False); the
    caller's verdict then says what is missing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def get(url: str) -> tuple[int, str]:
    """GET ``url`` exactly as given (its query already encoded); (status, body), errors too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
