"""peewee's PostgreSQL driver is psycopg 3, as the event loop's intake's (issue 22: one driver
family), kept as PgBouncer in transaction pooling needs it (docs/operations.md "PgBouncer"):
parameters bound on the client, no server-side prepared statement, and several statements with
parameters in one query answering for the last one, as psycopg2 did."""

import pytest

from smsbounce.buffer import db

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def database(postgres_url):
    database = db.connect(postgres_url, 5)
    yield database
    database.close_all()


def test_every_connection_is_psycopg_3_binding_on_the_client_and_preparing_nothing(database):
    with db.session(database):
        connection = database.connection()
        assert isinstance(connection, psycopg.Connection)
        assert connection.prepare_threshold is None
        assert isinstance(database.cursor(), psycopg.ClientCursor)
        for _ in range(10):  # psycopg 3 would prepare a query run 5 times (its default)
            database.execute_sql('SELECT count(*) FROM notifications WHERE "messageId" = %s', ["x"])
        prepared = database.execute_sql("SELECT count(*) FROM pg_prepared_statements")
        assert prepared.fetchone() == (0,)


def test_a_query_of_several_statements_answers_for_its_last(database):
    with db.session(database, write=True):
        cursor = database.execute_sql(
            "SET LOCAL statement_timeout = 1000; SELECT %s UNION ALL SELECT %s", ["a", "b"]
        )
        assert (cursor.fetchall(), cursor.rowcount) == ([("a",), ("b",)], 2)
        timeout = database.execute_sql("SHOW statement_timeout").fetchone()
        assert timeout == ("1s",)
