"""The statement cursor: prepared on the server once per connection where PostgreSQL
prepares statements, and logged like any other statement."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.env import env_bool
from openiop.core.db import pipelined, prepares_statements, statement_cursor, traffic

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="prepared statements and pipelines are PostgreSQL's; runs in CI's PostgreSQL pass",
)
# The suite also runs with them turned off (DB_PREPARED_STATEMENTS=false, as behind a
# pooler that cannot keep them): then the tests of the feature itself stand aside.
feature_on = pytest.mark.skipif(
    not env_bool("DB_PREPARED_STATEMENTS", True), reason="DB_PREPARED_STATEMENTS is off"
)
_SQL = "SELECT count(*) FROM accounts_user WHERE id > %s"


def test_a_statement_runs_and_is_logged_each_time(db) -> None:  # type: ignore[no-untyped-def]
    """A prepared statement's second run keeps no query text in psycopg; the query log
    (DEBUG, the tests' query counts) must still show it."""
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(3):
            with statement_cursor(connection) as cursor:
                cursor.execute(_SQL, [0])
                assert cursor.fetchone() == (0,)
    assert all("accounts_user" in q["sql"] for q in ctx.captured_queries)
    assert len(ctx.captured_queries) == 3


@pytest.mark.postgres
@postgres_only
@feature_on
def test_postgresql_prepares_the_statement_once_per_connection(db) -> None:  # type: ignore[no-untyped-def]
    assert prepares_statements(connection)  # the default (DB_PREPARED_STATEMENTS)

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%FROM accounts_user WHERE id > $1%"],
            )
            return int(cursor.fetchone()[0])

    for _ in range(3):
        with statement_cursor(connection) as cursor:
            cursor.execute(_SQL, [0])
    assert prepared() == 1


@pytest.mark.postgres
@postgres_only
@feature_on
def test_pipelined_statements_share_one_round_trip(db) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):  # the second time, as statements already prepared
        with (
            CaptureQueriesContext(connection) as ctx,
            traffic(connection) as sent,
            pipelined(connection, 3) as cursors,
        ):
            for n, cursor in enumerate(cursors):
                cursor.execute("SELECT %s::int + 1", [n])
            assert [cursor.fetchone()[0] for cursor in cursors] == [1, 2, 3]
        assert (sent.statements, sent.round_trips) == (3, 1)
        assert all("::int + 1" in q["sql"] for q in ctx.captured_queries)  # logged in full
    with traffic(connection) as sent:
        for _ in range(2):
            with statement_cursor(connection) as cursor:
                cursor.execute("SELECT 1")
    assert (sent.statements, sent.round_trips) == (2, 2)


def test_without_a_threshold_nothing_is_prepared(settings) -> None:  # type: ignore[no-untyped-def]
    """DB_PREPARED_STATEMENTS=false (a pooler that cannot keep prepared statements)."""

    class Fake:
        vendor = "postgresql"
        settings_dict = {"OPTIONS": {"prepare_threshold": None}}

    assert not prepares_statements(Fake())
    Fake.settings_dict = {"OPTIONS": {"prepare_threshold": 0}}
    assert prepares_statements(Fake())
    Fake.vendor = "sqlite"
    assert not prepares_statements(Fake())
