"""``GranianServer``: an RSGI app (``wsgi_bridge.WsgiBridge``) on granian's worker processes, so
that no slow client holds a thread (the buffer's server)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from .serving import ServerAdapter


class _NoCrashLoops(dict):
    """granian's record of when it last respawned each worker, kept empty.

    granian stops the whole server when a worker dies within 5.5 s of being respawned, taking it
    for a crash loop. Our workers cannot fail to start (the app is built, the port taken before
    they fork), so a worker that dies was killed while serving (the OOM killer, an operator);
    each is replaced, however often, and the server goes on answering.
    """

    def __setitem__(self, key, value) -> None:
        pass


# A new worker runs with the master's Python handler for these until granian installs its own;
# one arriving in between would run that copy and be lost, the worker serving on and the master
# waiting out its kill timeout (a stop right after the start: 6 of 15 hung, measured). So a
# worker is born with them blocked (the forking thread blocks them just before the fork, and
# unblocks them just after), and they are delivered once the worker's handler is in place.
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# granian loses a stop that reaches a worker before its server's threads wait for one, which
# they do a moment after its event loop starts: delivered at once, 2 stops of 20 right after the
# start were lost (the master then waits out its kill timeout); 0 of 65 after this long.
_SETTLE_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Looked up here, in the master, not in a new worker: a child of a process with threads should
# not take the dynamic loader's lock (dlopen, dlsym), which another thread may have held at the
# fork — a worker stuck there before its watchdog starts would outlive its master.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _end_with(master: int) -> None:
    """Have this new worker process stopped (SIGTERM: requests in flight finish) when
    ``master`` dies, even by SIGKILL, rather than serve on as an orphan that holds the port.

    The kernel sends the signal when the thread that forked the worker ends: granian forks from
    its main thread, which ends only with the master. A master gone before this ran is seen in
    the worker's parent, no longer ``master``. Linux only; elsewhere a worker may outlive it.
    """
    # granian can lose a stop signal (see above): an orphan that still serves after a while
    # ends anyway, its master gone and nobody left to restart or stop it.
    threading.Thread(target=_end_if_orphaned, args=(master,), daemon=True).start()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != master:
        os.kill(os.getpid(), signal.SIGTERM)  # held like the others: acted on once serving


_ORPHAN_CHECK_SECONDS, _ORPHAN_GRACE_SECONDS = 0.5, 5.0


def _end_if_orphaned(master: int) -> None:
    while os.getppid() == master:
        time.sleep(_ORPHAN_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # in-flight requests finish, if the stop is heard
    time.sleep(_ORPHAN_GRACE_SECONDS)
    os._exit(1)


class _Worker:
    """``app`` as granian's worker sees it: releases the held stop signals once the worker
    serves — ``_SETTLE_SECONDS`` after its event loop starts, granian's handler installed and
    its server started — and says so on ``serving`` (a pipe's write end)."""

    def __init__(self, app, serving: int):
        self.__rsgi__ = app.__rsgi__
        self._app, self._serving = app, serving

    def __rsgi_init__(self, loop) -> None:
        loop.call_later(_SETTLE_SECONDS, self._ready)
        if hasattr(self._app, "__rsgi_init__"):
            self._app.__rsgi_init__(loop)

    def _ready(self) -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        with contextlib.suppress(OSError):  # the pipe is full: the master has long been told
            os.write(self._serving, b".")

    def __rsgi_del__(self, loop) -> None:
        if hasattr(self._app, "__rsgi_del__"):
            self._app.__rsgi_del__(loop)


class GranianServer(ServerAdapter):
    """Serves the RSGI ``app`` (``wsgi_bridge.WsgiBridge``) with ``workers`` granian worker
    processes, all accepting on the one socket taken here.

    ``header_timeout`` (seconds) bounds how long a connection may take to send a request's head,
    an idle kept-alive one too; then granian closes it. On SIGTERM workers stop accepting, answer
    what they hold and exit; one still busy after ``graceful_timeout`` is killed. A worker that
    dies is replaced; workers end when the master does, even by SIGKILL. ``log_config`` is the
    ``logging`` dictConfig of every process. Raises CannotListen.
    """

    def __init__(
        self,
        app,
        host: str,
        port: int,
        *,
        workers: int,
        header_timeout: float,
        graceful_timeout: float,
        log_config: dict,
    ):
        super().__init__(app, host, port)
        self.workers, self.log_config = workers, log_config
        self.header_timeout, self.graceful_timeout = header_timeout, graceful_timeout

    def run(self, on_listening: Callable[[str], None] | None = None) -> None:
        from granian.constants import HTTPModes, Interfaces, Loops
        from granian.http import HTTP1Settings

        head_ms = max(1, round(self.header_timeout * 1000))
        server = _server_class()(
            self.socket,
            "smsbounce",  # a name for logs: the app is handed over by target_loader below
            address=self.host,
            port=self.port,
            interface=Interfaces.RSGI,
            loop=Loops.uvloop,
            workers=self.workers,
            http=HTTPModes.http1,
            websockets=False,
            http1_settings=HTTP1Settings(header_read_timeout=head_ms),
            log_dictconfig=self.log_config,
            respawn_failed_workers=True,
            workers_kill_timeout=max(1, round(self.graceful_timeout)),
        )
        server.respawned_wrks = _NoCrashLoops()
        heard, serving = os.pipe()
        os.set_blocking(serving, False)
        threading.Thread(
            target=_announce, args=(heard, on_listening, self.url), daemon=True
        ).start()
        master = os.getpid()

        os.register_at_fork(
            before=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS),
            after_in_parent=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS),
            after_in_child=lambda: _end_with(master),
        )
        worker_app = _Worker(self.app, serving)
        try:
            server.serve(target_loader=lambda: worker_app, wrap_loader=False)
        finally:
            self.socket.close()
            os.close(serving)


def _announce(heard: int, on_listening: Callable[[str], None] | None, url: str) -> None:
    """Call ``on_listening(url)`` once the first worker says it serves on the pipe ``heard``."""
    with contextlib.suppress(OSError):
        if os.read(heard, 1) and on_listening is not None:
            on_listening(url)
    os.close(heard)


def _server_class():
    """granian's server, its workers accepting on our socket."""
    from granian._granian import SocketHolder
    from granian.server import Server

    class _SharedSocket(Server):
        """On Linux granian has each worker bind a socket of its own with ``SO_REUSEPORT``,
        which any other process of the same user may join (it would get a share of the
        connections, issue 23). Every worker accepts on the socket ``serving.listen`` took
        instead, the way granian shares one on other systems."""

        def __init__(self, taken, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._taken = taken

        def _init_shared_socket(self) -> None:
            # The holder only lends the descriptor: granian neither closes it nor binds.
            self._ssp = None
            self._shd = SocketHolder(self._taken.fileno(), False, self.backlog)
            self._sfd = self._taken.fileno()
            self._sso = self._taken

        def _drop_shared_socket(self) -> None:
            pass  # closed by GranianServer.run, once the workers are gone

    return _SharedSocket
