"""Versioned schema migrations, recorded in the ``schema_version`` table.

Each migration is a numbered step run once, in order, in one transaction together with its row in
``schema_version`` (both databases have transactional DDL). Concurrent starts serialise: SQLite on
its write lock (``BEGIN IMMEDIATE``), PostgreSQL on an advisory lock, and each re-reads the
version under the lock. Steps get a ``playhouse.migrate`` migrator for column changes.

Version 1 is the ``notifications`` table as the first releases created it; a database that has that
table but no ``schema_version`` is recorded as version 1 without touching the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from peewee import (
    BigIntegerField,
    CharField,
    Database,
    IntegerField,
    Model,
    ProgrammingError,
    fn,
)
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run_operations

from . import db, models

VERSION_TABLE = "schema_version"
# pg_advisory_xact_lock key: "smsb" in ASCII.
_PG_LOCK_KEY = 0x736D7362
_INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE


class MigrationError(RuntimeError):
    """The schema cannot be brought to, or is not at, the version this release needs."""


class _SchemaVersion(Model):
    version = IntegerField(primary_key=True)
    name = CharField(max_length=200)
    applied_at = BigIntegerField()  # UTC microseconds

    class Meta:
        table_name = VERSION_TABLE


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    step: Callable[[Database, SchemaMigrator], None]


def _notifications(database: Database, migrator: SchemaMigrator) -> None:
    database.create_tables([models.bind(database)], safe=True)


def _outcome_counts(database: Database, migrator: SchemaMigrator) -> None:
    database.create_tables([models.bind(database, models.OutcomeCount)], safe=True)


def _quarantine(database: Database, migrator: SchemaMigrator) -> None:
    database.create_tables([models.bind(database, models.QuarantinedReport)], safe=True)


def _codes_and_polls(database: Database, migrator: SchemaMigrator) -> None:
    tables = [models.bind(database, m) for m in (models.ReportCode, models.MarketingPoll)]
    database.create_tables(tables, safe=True)


def _raw_bytes(database: Database, migrator: SchemaMigrator) -> None:
    # A database created since has both from the model (migration 3 creates its table).
    model = models.bind(database, models.QuarantinedReport)
    table = models.QUARANTINE_TABLE
    if "rawBytes" not in {c.name for c in database.get_columns(table)}:
        # A field of its own: add_column renames the one it is given.
        run_operations(migrator.add_column(table, "rawBytes", BigIntegerField(default=0)))
        model.update(raw_bytes=fn.LENGTH(model.raw_request)).execute()
    # The name the model gives it in a database created since.
    database.execute_sql("CREATE INDEX IF NOT EXISTS quarantinedreport_type ON quarantine (type)")


MIGRATIONS = (
    Migration(1, "notifications table and its (ingestedAt, messageId) index", _notifications),
    Migration(2, "outcome_counts: reports per outcome and minute (status page)", _outcome_counts),
    Migration(3, "quarantine: bounces with a field the mapping could not read", _quarantine),
    Migration(
        4,
        "report_codes (states and codes per provider and hour, and what became of them) and "
        "marketing_polls (when Marketing last polled, per sourceSystem)",
        _codes_and_polls,
    ),
    Migration(
        5,
        "quarantine.rawBytes and an index on its type: the bounds of unmapped and kept reports",
        _raw_bytes,
    ),
)
LATEST = MIGRATIONS[-1].version


def _version_model(database: Database) -> type[_SchemaVersion]:
    return models.bind(database, _SchemaVersion)


def _read_version(database: Database) -> int:
    """The recorded version; 1 for a pre-migrations database that has the bounces table."""
    tables = set(database.get_tables())
    if VERSION_TABLE in tables:
        model = _version_model(database)
        recorded = model.select(model.version).order_by(model.version.desc()).limit(1).scalar()
        return recorded or 0
    return 1 if models.TABLE in tables else 0


def current(database: Database) -> int:
    """The schema version of ``database`` (0 when empty). May raise DatabaseUnavailable."""
    with db.session(database):
        return _read_version(database)


def check(database: Database) -> None:
    """Raise MigrationError unless the schema is exactly at ``LATEST``."""
    version = current(database)
    if version < LATEST:
        raise MigrationError(
            f"the database schema is at version {version}, this release needs {LATEST}: "
            "run `smsbounce migrate` (or start with SMSBOUNCE_MIGRATE_ON_START=true)"
        )
    _refuse_newer(version)


def _refuse_newer(version: int) -> None:
    if version > LATEST:
        raise MigrationError(
            f"the database schema is at version {version}, newer than this release knows "
            f"({LATEST}): run the smsbounce release that migrated it"
        )


def migrate(database: Database) -> list[Migration]:
    """Apply every pending migration; return those applied (none when up to date). A role that
    may not read or change the schema gets MigrationError saying so; one that may only read and
    write its tables may run it once there is nothing to do."""
    try:
        return _migrate(database)
    except ProgrammingError as exc:
        cause = getattr(exc, "orig", None)  # the driver's exception, peewee keeps it
        if getattr(cause, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
            raise
        problem = str(cause).strip().splitlines()[0]
        raise MigrationError(
            f"the database role may not read or change the schema ({problem}): run `smsbounce "
            "migrate` as a role that may"
        ) from None


def _migrate(database: Database) -> list[Migration]:
    applied: list[Migration] = []
    with db.session(database, write=True):
        if not db.is_sqlite(database):
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_KEY,))
        version = _read_version(database)
        _refuse_newer(version)
        if version == LATEST:
            return applied  # no DDL at all: a role that may only write can run it
        model = _version_model(database)
        database.create_tables([model], safe=True)
        if version and not model.select().exists():
            # A database from before migrations: record the baseline it already has.
            _record(model, MIGRATIONS[0])
        migrator = SchemaMigrator.from_database(database)
        for migration in MIGRATIONS:
            if migration.version > version:
                migration.step(database, migrator)
                _record(model, migration)
                applied.append(migration)
    return applied


def _record(model, migration: Migration) -> None:
    model.insert(
        version=migration.version, name=migration.name, applied_at=time.time_ns() // 1000
    ).execute()
