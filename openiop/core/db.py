"""Facts about the database connection that the hand-written fast paths depend on, and the
cursor those paths run their statements on.

Django's PostgreSQL backend binds parameters on the client (psycopg's ClientCursor): every
statement reaches the server as new text, which the server parses and plans on every
execution. For the few statements every page repeats (session, user, access check, the
chart's reads, the audit append) the planning cost more than running them (EXPLAIN
ANALYZE of the access check: 0.30 ms planning, 0.05 ms execution). `statement_cursor`
runs them on a server-binding cursor instead, and psycopg prepares each on the first
execution in a connection (settings: DATABASES OPTIONS "prepare_threshold" = 0, with
DB_PREPARED_STATEMENTS=false to turn it off, as a transaction-mode pooler older than
PgBouncer 1.21 needs). Django's own queries stay on the client cursor, unprepared.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model


def takes_many_statements(connection: Any) -> bool:
    """Whether one execute() may carry several statements separated by ";": PostgreSQL
    with the driver's client-side binding (Django's default; not with the
    "server_side_binding" option, which binds each statement on the server)."""
    return connection.vendor == "postgresql" and not connection.settings_dict.get(
        "OPTIONS", {}
    ).get("server_side_binding")


def prepares_statements(connection: Any) -> bool:
    """Whether statement_cursor's statements are prepared on the server (PostgreSQL with a
    prepare threshold configured)."""
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold") is not None
    )


def statement_cursor(connection: Any) -> Any:
    """A Django cursor (logged, counted and wrapped as any other) whose statements are bound
    on the server and prepared once per connection, where the connection prepares
    statements; else the connection's ordinary cursor. One statement per execute, with
    %s placeholders; the statement's text must not vary with its values."""
    wrapper = connection.cursor()  # Django's checks: health, thread, connection open
    if prepares_statements(connection):
        plain = wrapper.cursor
        wrapper.cursor = _preparing_cursor_class()(connection.connection)
        plain.close()
    return wrapper


@functools.cache
def _preparing_cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        """Keeps the text of what it ran, which psycopg forgets when it runs a statement
        already prepared, so that Django's query log (DEBUG, the tests' query
        counts) shows it as any other."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            result = super().execute(query, params, **kwargs)  # type: ignore[misc]
            if self._query is None:  # type: ignore[has-type]
                self._query = _RanText(query.encode() if isinstance(query, str) else query)
            return result

    return PreparingCursor


@dataclass(frozen=True)
class _RanText:
    query: bytes


@contextmanager
def pipelined(connection: Any, count: int) -> Iterator[list[Any]]:
    """`count` statement cursors whose executes inside the block reach the server together,
    in one round trip, where the connection prepares statements (psycopg's pipeline
    mode); elsewhere they run one by one. Fetch each cursor's rows inside the block."""
    with ExitStack() as stack:
        cursors = [stack.enter_context(statement_cursor(connection)) for _ in range(count)]
        if count > 1 and prepares_statements(connection):
            stack.enter_context(connection.connection.pipeline())
        yield cursors


class RowReader:
    """Instances of a model from its concrete fields' columns in a hand-written
    statement (a join of several tables), as the ORM makes them: the backend's
    converters (SQLite's dates, booleans and UUIDs) applied, worked out once."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = tuple(model._meta.concrete_fields)
        self._attnames = [field.attname for field in self.fields]
        self._converters: dict[str, list[tuple[int, list[Any], Any]]] = {}

    def columns(self, table_alias: str) -> str:
        return ", ".join(f"{table_alias}.{field.column}" for field in self.fields)

    def instance(self, alias: str, values: Sequence[Any]) -> Any:
        connection = connections[alias]
        converters = self._converters.get(alias)
        if converters is None:
            converters = self._converters[alias] = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                functions = [
                    *connection.ops.get_db_converters(column),
                    *column.get_db_converters(connection),
                ]
                if functions:
                    converters.append((index, functions, column))
        row = list(values)
        for index, functions, column in converters:
            for function in functions:
                row[index] = function(row[index], column, connection)
        return self.model.from_db(alias, self._attnames, row)


@dataclass
class Traffic:
    """What a block sent to the database: statements, and round trips (statements sent
    in one pipeline share one). For tests and the benchmark."""

    statements: int = 0
    round_trips: int = 0
    _pipeline: object = None


@contextmanager
def traffic(connection: Any) -> Iterator[Traffic]:
    seen = Traffic()

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        pipeline = getattr(connection.connection, "_pipeline", None)
        seen.statements += 1
        if pipeline is None or pipeline is not seen._pipeline:
            seen.round_trips += 1
        seen._pipeline = pipeline
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield seen
