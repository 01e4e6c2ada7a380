"""Group commit: the reports that arrive together in a process are stored in one transaction.

One writer thread per process takes what request threads have queued — up to ``batch_size``
rows, waiting up to ``batch_wait`` seconds for more (0: only what is already waiting) — and
hands it to ``write``, which stores it all in one transaction; each request thread is answered
only after that commit, with its own results. A database failure answers
``DatabaseUnavailable`` to every request of the batch, and the transaction wrote nothing.

A request waits at most ``timeout`` (``SMSBOUNCE_DB_TIMEOUT``) in all, queue and transaction;
then it is answered ``DatabaseUnavailable``. Its work is dropped if the writer had not taken it
yet; if it had, the batch may still commit, and the provider's retry is a duplicate, which
changes nothing.

The thread starts with the first write of a process (``smsbounce serve`` opens the store in the
master and forks its workers: a forked child starts afresh, nothing of the parent's queue is
inherited), ends after a while without work, and ``close`` — also called when the process
exits — lets it finish everything queued first.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence

from .errors import DatabaseUnavailable

IDLE_SECONDS = 30.0  # a writer with no work for this long ends; the next write starts another


class Job:
    """One request's work: ``payload`` for ``write``, ``rows`` toward the batch size."""

    __slots__ = ("payload", "rows", "abandoned", "done", "results", "error")

    def __init__(self, payload, rows: int):
        self.payload, self.rows = payload, rows
        self.abandoned = False  # its waiter gave up: skipped unless already in a batch
        self.done = threading.Event()
        self.results = self.error = None

    def finish(self, results=None, error: BaseException | None = None) -> None:
        self.results, self.error = results, error
        self.done.set()


class GroupCommit:
    def __init__(
        self,
        write: Callable[[Sequence[Job]], list],
        *,
        batch_size: int = 64,
        batch_wait: float = 0.0,
        timeout: float = 10.0,
        on_batch: Callable[[int], None] | None = None,
    ):
        """``write(jobs)`` stores every job in one transaction and returns each one's results
        in order, or raises; ``on_batch`` is told the rows of every batch written."""
        self._write = write
        self.batch_size, self.batch_wait, self.timeout = batch_size, batch_wait, timeout
        self.on_batch = on_batch or (lambda rows: None)
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        # Also the state of a forked child: the parent's thread does not exist there, and its
        # lock may have been held by another thread at the fork.
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._thread: threading.Thread | None = None
        self._writing = 0  # jobs in the batch being written
        self._closing = False

    def submit(self, payload, rows: int):
        """Queue one request's work, wait for its commit, return its results.

        Raises what ``write`` raised for this job, or ``DatabaseUnavailable`` when the batch
        failed or the wait took longer than ``timeout``.
        """
        job = Job(payload, rows)
        with self._cond:
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        if not job.done.wait(self.timeout):
            with self._cond:
                job.abandoned = True  # the writer skips it, unless it has taken it already
            if not job.done.is_set():
                raise DatabaseUnavailable(
                    f"no commit within SMSBOUNCE_DB_TIMEOUT ({self.timeout:g} s)"
                )
        if isinstance(job.error, DatabaseUnavailable):
            # One exception per waiter: threads must not share (and extend) one traceback.
            raise DatabaseUnavailable(str(job.error)) from job.error
        if job.error is not None:
            raise job.error
        return job.results

    @property
    def pending(self) -> tuple[int, int]:
        """Jobs waiting for their commit: (queued, in the batch being written)."""
        with self._cond:
            return sum(not job.abandoned for job in self._queue), self._writing

    def close(self, timeout: float | None = None) -> None:
        """Finish every queued job, then stop the thread (a later submit starts a new one)."""
        with self._cond:
            thread, self._closing = self._thread, True
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            self._closing = False

    def _run(self) -> None:
        try:
            while (batch := self._take()) is not None:
                try:
                    if batch:
                        self._commit(batch)
                except Exception as exc:  # never leave a waiter without an answer
                    for job in batch:
                        if not job.done.is_set():
                            job.finish(error=exc)
                finally:
                    with self._cond:
                        self._writing = 0
        finally:
            with self._cond:
                if self._thread is threading.current_thread():  # it ended abnormally
                    self._thread = None

    def _take(self) -> list[Job] | None:
        """The next batch, [] if every queued job was abandoned, None when the thread ends."""
        with self._cond:
            while not self._queue:
                if self._closing or not self._cond.wait(IDLE_SECONDS) and not self._queue:
                    self._thread = None
                    return None
            batch, rows, until = [], 0, None
            while True:
                while self._queue and (not batch or rows + self._queue[0].rows <= self.batch_size):
                    job = self._queue.popleft()
                    if not job.abandoned:
                        batch.append(job)
                        rows += job.rows
                full = rows >= self.batch_size or bool(self._queue)
                if full or not batch or not self.batch_wait or self._closing:
                    break
                until = until or time.monotonic() + self.batch_wait
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            self._writing = len(batch)
            return batch

    def _commit(self, batch: list[Job]) -> None:
        try:
            results = self._write(batch)
        except DatabaseUnavailable as exc:
            for job in batch:
                job.finish(error=exc)
            return
        except Exception as exc:
            # Not the database's failure but something one job carried that the schema
            # refuses: each job alone, so only the one at fault fails.
            if len(batch) == 1:
                batch[0].finish(error=exc)
            else:
                for job in batch:
                    self._commit([job])
            return
        # Counted before anyone is answered, so whoever was answered sees it counted; a metric
        # that fails must not turn a commit into an error.
        with contextlib.suppress(Exception):
            self.on_batch(sum(job.rows for job in batch))
        for job, result in zip(batch, results, strict=True):
            job.finish(result)


_LIVE: weakref.WeakSet[GroupCommit] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_LIVE):
        writer._reset()


def _at_exit() -> None:
    # A worker that exits gracefully has answered every request, but a batch whose waiters
    # timed out may still be running: let it end (it is bounded by the database timeouts).
    for writer in list(_LIVE):
        writer.close(timeout=2 * writer.timeout)


# As the standard library's own pools do: a forked child starts afresh, an exit drains.
os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
