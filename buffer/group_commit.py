"""Group commit: the reports that arrive together in a process are stored in one transaction.

A request thread queues its work. If no thread of the process is writing, it becomes the leader:
it takes what is queued — up to ``batch_size`` rows, waiting up to ``batch_wait`` seconds for
more (0: only what is already waiting) — and hands it to ``write``, which stores it all in one
transaction; then it answers every request of the batch with its own results and steps down.
Requests that queued meanwhile wait for their batch; the first of them to find nobody writing
leads the next one. A report that arrives alone is written by its own thread, with no handoff.

A database failure answers ``DatabaseUnavailable`` to every request of the batch, and the
transaction wrote nothing. A request waits at most ``timeout`` (``SMSBOUNCE_DB_TIMEOUT``) for a
leader to take its work; then it is answered ``DatabaseUnavailable`` and its work is dropped.
Once taken, the batch's own transaction is bounded by the same timeout (``db.Budget``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence

from .errors import DatabaseUnavailable


class Job:
    """One request's work: ``payload`` for ``write``, ``rows`` toward the batch size."""

    __slots__ = ("payload", "rows", "done", "results", "error")

    def __init__(self, payload, rows: int):
        self.payload, self.rows = payload, rows
        self.done = False
        self.results = self.error = None

    def finish(self, results=None, error: BaseException | None = None) -> None:
        self.results, self.error, self.done = results, error, True


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
        # Also the state of a forked child: the parent's other threads do not exist there, and
        # the lock may have been held by one of them at the fork.
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._writing = 0  # jobs in the batch being written; 0: nobody leads

    def submit(self, payload, rows: int):
        """Queue one request's work, wait for its commit (leading a batch if nobody does),
        return its results.

        Raises what ``write`` raised for this job, or ``DatabaseUnavailable`` when the batch
        failed or no batch took the work within ``timeout``.
        """
        job = Job(payload, rows)
        deadline = time.monotonic() + self.timeout
        with self._cond:
            self._queue.append(job)
            if self.batch_wait:
                self._cond.notify_all()  # a leader waiting for more may now have enough
            while not job.done:
                if not self._writing:
                    batch = self._take()
                    self._cond.release()
                    try:
                        self._commit(batch)
                    finally:
                        self._cond.acquire()
                        for taken in batch:  # interrupted (not by an Exception): say so
                            if not taken.done:
                                taken.finish(error=DatabaseUnavailable("the write was cut off"))
                        self._writing = 0
                        self._cond.notify_all()
                    continue
                left = deadline - time.monotonic()
                if left <= 0 and job in self._queue:
                    self._queue.remove(job)
                    raise DatabaseUnavailable(
                        f"no commit within SMSBOUNCE_DB_TIMEOUT ({self.timeout:g} s)"
                    )
                # Taken into a batch: its transaction is bounded by the same timeout.
                self._cond.wait(left if left > 0 else self.timeout)
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
            return len(self._queue), self._writing

    def close(self, timeout: float | None = None) -> None:
        """Return once every queued job is written (each is written by a request thread)."""
        with self._cond:
            self._cond.wait_for(lambda: not self._queue and not self._writing, timeout)

    def _take(self) -> list[Job]:
        """The next batch, in arrival order (called holding the lock, by the new leader)."""
        batch, rows, until = [], 0, None
        while True:
            while self._queue and (not batch or rows + self._queue[0].rows <= self.batch_size):
                job = self._queue.popleft()
                batch.append(job)
                rows += job.rows
            if rows >= self.batch_size or self._queue or not self.batch_wait:
                break
            until = until or time.monotonic() + self.batch_wait
            left = until - time.monotonic()
            if left <= 0:
                break
            self._writing = len(batch)  # nobody else leads while this one waits for more
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


# As the standard library's own pools do: a forked child starts afresh.
os.register_at_fork(after_in_child=_after_fork_in_child)
