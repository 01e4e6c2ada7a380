"""SAP Digital Interconnect: GET with orderID, time, date, msisdn, status (docs/spec.md §2.3, §3).

Its quirks (lost ``+``, quoted status, letter O in the code) need code, not a declarative file;
its code table is the declarative part (``SMSBOUNCE_STATUS_TYPES``, default ``di.json``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..reports import InvalidParameter, Report, StatusTable, map_di_report
from .base import Incoming, Profile, Rejected


class DigitalInterconnect(Profile):
    name = "di"
    description = "SAP Digital Interconnect (SMS 365) delivery reports (GET); the article's format."
    methods = ("GET",)

    def __init__(self, table: StatusTable, timezone: ZoneInfo):
        self.table, self.timezone = table, timezone

    def parse(self, incoming: Incoming) -> list[Report | Rejected]:
        try:
            return [map_di_report(incoming.query, self.table, self.timezone)]
        except InvalidParameter as exc:
            return [Rejected(exc.parameter, str(exc))]

    def describe(self):
        table = self.table
        return {
            **super().describe(),
            "fields": {
                "messageId": "orderID",
                "recipient": "msisdn",
                "time": "date + time",
                "status": "status (code + text)",
            },
            "codes": {
                "success": sorted(table.success),
                "intermediate": sorted(table.intermediate),
                "temporary": sorted(table.temporary),
                "permanent": sorted(table.permanent),
            },
            "default": table.default.value,
        }
