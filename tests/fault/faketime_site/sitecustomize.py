"""Loaded (through PYTHONPATH) only into the processes the fault suite runs under libfaketime.

libfaketime 0.9.10 (Debian 12) answers EINVAL to the absolute-deadline ``clock_nanosleep`` that
Python's ``time.sleep`` uses, when the monotonic clock is left true (as the suite leaves it, so
timeouts and gunicorn's heartbeats are unaffected). Waiting on an event's timeout goes through
``sem_clockwait``, which it leaves alone, so ``time.sleep`` becomes that wait.
"""

import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


time.sleep = _sleep
