"""SAP Digital Interconnect: the article's GET report (the simulator's own send API's answer)."""

from __future__ import annotations

from .base import Format, Item, Request, Stored, encode_pairs, join_url


def di_params(order_id, msisdn, status, event_time, zone) -> tuple[tuple[str, str], ...]:
    """DI's report parameters; ``date``/``time`` are the event time in ``zone``."""
    local = event_time.astimezone(zone)
    return (
        ("orderid", order_id),  # lower-case, as DI sends it
        ("time", local.strftime("%H%M%S")),
        ("date", local.strftime("%d%m%Y")),
        ("msisdn", msisdn),
        ("status", status),
    )


class DigitalInterconnect(Format):
    name = "di"
    title = "GET <AckReplyAddress>?orderid=…&time=HHMMSS&date=DDMMYYYY&msisdn=…&status=…"

    def item(self, report):
        planned = report.planned
        fields = di_params(
            report.order_id, report.recipient, planned.status, planned.event_time, report.zone
        )
        return Item(fields, planned.status, raw_plus=planned.raw_plus)

    def stored(self, report):
        planned = report.planned
        return Stored(
            planned.type, planned.code, planned.text, report.recipient, planned.event_time
        )

    def request(self, address, items):
        (item,) = items
        return Request("GET", join_url(address, encode_pairs(item.fields, item.raw_plus)))
