"""DI's delivery report URL, built by hand so each quirk reaches the wire exactly (pure).

``urlencode`` would escape the ``+`` the article shows raw on the wire; here the encoding of each
value is chosen explicitly: well-behaved reports escape everything (``+`` → ``%2B``, space →
``%20``), quirky ones leave ``+`` and ``'`` raw — a receiver's URL decoding then turns the ``+``
into a space, which is exactly the trouble SPEC §2.3 describes.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo


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
    event time in ``zone`` (DI's zone is not published; SPEC §2.3).
    """
    local = event_time.astimezone(zone)
    params = (
        ("orderid", order_id),  # lower-case, as DI sends it
        ("time", local.strftime("%H%M%S")),
        ("date", local.strftime("%d%m%Y")),
        ("msisdn", msisdn),
        ("status", status),
    )
    safe = "+'" if raw_plus else ""
    query = "&".join(f"{name}={quote(value, safe=safe)}" for name, value in params)
    joiner = "" if address.endswith(("?", "&")) else "&" if "?" in address else "?"
    return address + joiner + query
