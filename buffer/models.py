"""The stored tables. Field names follow the Marketing item (docs/spec.md §2.2); models are unbound
and ``bind(database)`` makes a copy per store, so two stores in one process never share state."""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    CompositeKey,
    Database,
    Model,
    TextField,
)

from smsbounce.contracts.wire import (
    MESSAGE_ID_MAX,
    RECIPIENT_MAX,
    STATUS_CODE_MAX,
    STATUS_TEXT_MAX,
)

TABLE = "notifications"
COUNTS_TABLE = "outcome_counts"
QUARANTINE_TABLE = "quarantine"
CODES_TABLE = "report_codes"
POLLS_TABLE = "marketing_polls"


class Notification(Model):
    message_id = CharField(max_length=MESSAGE_ID_MAX, primary_key=True, column_name="messageId")
    recipient = CharField(max_length=RECIPIENT_MAX)
    status_code = CharField(max_length=STATUS_CODE_MAX, column_name="statusCode")
    status_text = CharField(max_length=STATUS_TEXT_MAX, column_name="statusText")
    type = CharField(max_length=20, null=True)
    timestamp = CharField(max_length=20)  # provider's event time, UTC YYYYMMDDhhmmss
    # Server-assigned UTC microseconds since the epoch: the time windows select on (docs/spec.md
    # §4).
    ingested_at = BigIntegerField(column_name="ingestedAt")
    provider = CharField(max_length=20, default="di")
    raw_report = TextField(null=True, column_name="rawReport")

    class Meta:
        table_name = TABLE
        indexes = ((("ingested_at", "message_id"), False),)


class OutcomeCount(Model):
    """How many reports had each outcome in one UTC minute (the status page's counts)."""

    minute = BigIntegerField()  # minutes since the epoch, UTC
    outcome = CharField(max_length=40)
    count = BigIntegerField()

    class Meta:
        table_name = COUNTS_TABLE
        primary_key = CompositeKey("minute", "outcome")


class QuarantinedReport(Model):
    """A report kept with its raw request until ``smsbounce replay`` maps it (docs/spec.md §4),
    never served from here: a bounce with a field the mapping could not read, a report it
    could not map at all (``unmapped``), or an acknowledged one kept on the operator's word
    (``acknowledged``)."""

    id = AutoField()
    provider = CharField(max_length=20)
    message_id = CharField(max_length=64, column_name="messageId")  # "": none was found
    # Temporary / Permanent, as classified on arrival; unmapped; acknowledged.
    type = CharField(max_length=20)
    parameter = CharField(max_length=100)  # the field that could not be read
    reason = CharField(max_length=250)
    received_at = BigIntegerField(column_name="receivedAt")  # UTC microseconds
    raw_request = TextField(column_name="rawRequest")
    # Bytes of raw_request (ASCII JSON): the bounds of buffer/keeping.py add these up.
    raw_bytes = BigIntegerField(column_name="rawBytes", default=0)

    class Meta:
        table_name = QUARANTINE_TABLE
        indexes = ((("received_at",), False), (("type",), False))


class ReportCode(Model):
    """How many reports of a provider, in one UTC hour, carried a state and code, what became
    of them and by which rule of the profile (``smsbounce providers codes``, the status page)."""

    hour = BigIntegerField()  # hours since the epoch, UTC
    provider = CharField(max_length=20)
    state = CharField(max_length=40)  # as the provider sent it, cut to 40
    code = CharField(max_length=40)
    outcome = CharField(max_length=20)  # delivered / intermediate / Temporary / Permanent
    result = CharField(max_length=20)  # stored / duplicate / stale / acknowledged / quarantined
    rule = CharField(max_length=40)  # states.permanent, codes.temporary, default, …
    count = BigIntegerField()

    class Meta:
        table_name = CODES_TABLE
        primary_key = CompositeKey("hour", "provider", "state", "code", "outcome", "result", "rule")


class MarketingPoll(Model):
    """When Marketing last read a page, per ``sourceSystem``, and how far its windows reached
    (in ingest time: a bounce ingested at or after ``read_until`` waits for a later poll)."""

    source_system = CharField(max_length=100, primary_key=True, column_name="sourceSystem")
    polled_at = BigIntegerField(column_name="polledAt")  # UTC microseconds, the ingest clock
    read_until = BigIntegerField(column_name="readUntil")

    class Meta:
        table_name = POLLS_TABLE


def bind(database: Database, model: type[Model] = Notification) -> type[Model]:
    meta = type("Meta", (), {"database": database, "table_name": model._meta.table_name})
    return type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})
