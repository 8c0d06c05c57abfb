"""Querysets whose SQL is built once per process, for the reads every page repeats.

Django builds a query's SQL anew on every execution, and for a query with joins that
costs several times what the database takes to run it (docs/PERFORMANCE.md: the chart's
five reads spent most of their time in the ORM's compiler). A PreparedQuery builds its
queryset once with a stand-in key, keeps the compiled SQL and the compiler's column
map, and runs it again with the real key substituted for the stand-in: the rows come
back through Django's own iterator (select_related, converters, model instances).

Only the key may vary. The queryset must be a function of the key alone (no clock, no
actor): anything else is frozen at the first call. Keys are integer primary keys.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet

from openiop.core.db import pipelined, prepares_statements, takes_many_statements

M = TypeVar("M", bound=Model)

# A stand-in key that fits every integer column and that no real row uses.
_STAND_IN = -918_273_645


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet[Any]
    compiler: Any  # django.db.models.sql.compiler.SQLCompiler, after as_sql()
    sql: str
    params: tuple[Any, ...]
    positions: tuple[int, ...]


@dataclass(frozen=True)
class _Bound:
    queryset: QuerySet[Any]
    compiler: Any
    sql: str
    params: tuple[Any, ...]
    alias: str


class PreparedQuery(Generic[M]):
    def __init__(self, build: Callable[[int], QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}
        self._model_class: type[Model] | None = None

    def _compile(self, alias: str) -> _Compiled:
        queryset = self._build(_STAND_IN).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        positions = tuple(i for i, value in enumerate(params) if value == _STAND_IN)
        if not positions:
            raise ValueError("PreparedQuery: the built queryset does not use its key")
        return _Compiled(queryset, compiler, sql, tuple(params), positions)

    def __call__(self, key: int) -> list[M]:
        return list(self._bound(key).queryset)

    def _bound(self, key: int) -> _Bound:
        """A fresh queryset whose compiler answers with the compiled SQL and this key."""
        alias = router.db_for_read(self._model())
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiled = self._compiled[alias] = self._compile(alias)
        params = list(compiled.params)
        for position in compiled.positions:
            params[position] = int(key)
        bound_params = tuple(params)
        compiler = copy.copy(compiled.compiler)
        # Django's connections are per thread: run on this thread's, not the one the
        # compiler was built on (a server has several threads).
        compiler.connection = connections[alias]
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, bound_params)
        queryset = compiled.queryset.all()
        queryset.query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        return _Bound(queryset, compiler, compiled.sql, bound_params, alias)

    def _model(self) -> type[Model]:
        if self._model_class is None:
            self._model_class = self._build(_STAND_IN).model
        return self._model_class


def run_together(*reads: tuple[PreparedQuery[Any], int]) -> list[list[Any]]:
    """Several prepared reads, each with its key, in one round trip on PostgreSQL (as
    statements prepared on the server, in the driver's pipeline mode, or else as one
    text of several statements), else one after the other; the rows of each, in order."""
    bound = [query._bound(key) for query, key in reads]
    aliases = {b.alias for b in bound}
    connection = connections[bound[0].alias] if len(aliases) == 1 else None
    if connection is None or len(bound) < 2:
        return [list(b.queryset) for b in bound]
    if prepares_statements(connection):
        with pipelined(connection, len(bound)) as cursors:
            for cursor, b in zip(cursors, bound, strict=True):
                cursor.execute(b.sql, b.params)
            return [
                _rows_through_orm(b, cursor.fetchall())
                for cursor, b in zip(cursors, bound, strict=True)
            ]
    if not takes_many_statements(connection):
        return [list(b.queryset) for b in bound]
    results: list[list[Any]] = []
    with connection.cursor() as cursor:
        cursor.execute("; ".join(b.sql for b in bound), [p for b in bound for p in b.params])
        for index, b in enumerate(bound):
            if index:
                cursor.nextset()
            results.append(_rows_through_orm(b, cursor.fetchall()))
    return results


def _rows_through_orm(bound: _Bound, rows: list[tuple[Any, ...]]) -> list[Any]:
    """The model instances of rows already fetched: Django's iterator asks the compiler
    to execute and gets these rows instead (the shape of execute_sql's answer: an
    iterable of chunks of rows)."""
    bound.compiler.execute_sql = lambda *args, **kwargs: iter([rows])
    return list(bound.queryset)
