"""Throttling of failed logins per client, and who the client is behind proxies.

A client may fail ``burst`` times in a row; after that it earns one more try every ``refill``
seconds (a token bucket), and until then it is refused unchecked with the seconds to wait. Only
failures spend tries, so the right password, from another client or once the wait is over, always
gets in: nobody can lock a user out, only slow a guesser down to one guess per ``refill``.

State is per process (per worker): it bounds guessing without a shared store, at the price of the
budget being per worker. Clients are forgotten least recently failed first beyond ``max_clients``,
so a flood of addresses cannot grow memory without bound.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping


class FailureThrottle:
    def __init__(
        self,
        burst: int = 10,
        refill: float = 6.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.burst, self.refill, self.max_clients = burst, refill, max_clients
        self._clock = clock
        self._tries: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tries left, when
        self._lock = threading.Lock()

    def wait(self, client: str) -> int:
        """Whole seconds ``client`` must wait before its next try is checked; 0: check it now."""
        with self._lock:
            left = self._left(client)
        return 0 if left >= 1 else max(1, math.ceil((1 - left) * self.refill))

    def failed(self, client: str) -> None:
        """``client`` tried and failed: one try fewer."""
        with self._lock:
            self._tries[client] = (self._left(client) - 1, self._clock())
            self._tries.move_to_end(client)
            while len(self._tries) > self.max_clients:
                self._tries.popitem(last=False)

    def _left(self, client: str) -> float:
        if client not in self._tries:
            return float(self.burst)
        left, since = self._tries[client]
        return min(float(self.burst), left + (self._clock() - since) / self.refill)


def client_address(environ: Mapping[str, str], forwarded_hops: int = 0) -> str:
    """The address a request came from, as a throttling key.

    ``forwarded_hops`` is how many proxies in front of the server append to ``X-Forwarded-For``
    (1 behind the Cloud Foundry router): the entry that many from the right is the address the
    outermost trusted proxy saw, which the client cannot forge — entries further left it wrote
    itself. Without a usable entry, the peer address. An IPv6 address stands for its /64, which
    one subscriber usually holds whole.
    """
    address = environ.get("REMOTE_ADDR", "")
    if forwarded_hops:
        hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= forwarded_hops:
            address = hops[-forwarded_hops]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]  # not an address (a unix socket, a broken header): still one key
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1, as dual-stack sockets report IPv4
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
