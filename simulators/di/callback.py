"""DI's delivery report URL, built by hand so each quirk reaches the wire exactly (pure).

``urlencode`` would escape the ``+`` the article shows raw on the wire; here the encoding of each
value is chosen explicitly: well-behaved reports escape everything (``+`` → ``%2B``, space →
``%20``), quirky ones leave ``+`` and ``'`` raw — a receiver's URL decoding then turns the ``+``
into a space, which is exactly the trouble docs/spec.md §2.3 describes. The other providers'
formats are in ``formats.py``; this is the ``di`` one, kept as a function for readers and tests.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from .formats import di_params, encode_pairs, join_url


def report_url(
    address: str,
    *,
    order_id: str,
    msisdn: str,
    status: str,
    event_time: datetime,
    zone: ZoneInfo,
    raw_plus: bool = False,
) -> str:
    """``<address>?orderid=…&time=HHMMSS&date=DDMMYYYY&msisdn=…&status=…``.

    An address that already has a query (``?token=…``) gets ``&``; ``date``/``time`` are the
    event time in ``zone`` (DI's zone is not published; docs/spec.md §2.3).
    """
    params = di_params(order_id, msisdn, status, event_time, zone)
    return join_url(address, encode_pairs(params, raw_plus))
