"""Querysets whose SQL is built once per process, for the reads every page repeats.

Django builds a query's SQL anew on every execution, and for a query with joins that
costs several times what the database takes to run it (docs/PERFORMANCE.md: the chart's
five reads spent most of their time in the ORM's compiler). A PreparedQuery builds its
queryset once with a stand-in key, keeps the compiled SQL and the compiler's column
map, and runs it again with the real key substituted for the stand-in. The rows become
model instances as Django's ModelIterable makes them (the same from_db, select_related
populators, annotations and converters), with what that iterator works out on every
execution worked out once. Model querysets only (no values(), no prefetch_related).

Only the key may vary. The queryset must be a function of the key alone (no clock, no
actor): anything else is frozen at the first call. Keys are integer primary keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

from openiop.core.db import pipelined, prepares_statements, takes_many_statements

M = TypeVar("M", bound=Model)

# A stand-in key that fits every integer column and that no real row uses.
_STAND_IN = -918_273_645


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: tuple[int, ...]
    # How a row becomes a model instance, worked out once (what Django's ModelIterable
    # works out on every execution): the model's columns, the select_related
    # populators, the annotations and each column's converters.
    model: type[Model]
    init_list: tuple[str, ...]
    model_slice: slice
    populators: tuple[Any, ...]
    annotations: tuple[tuple[str, int], ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


@dataclass(frozen=True)
class _Bound:
    compiled: _Compiled
    params: tuple[Any, ...]
    alias: str

    @property
    def sql(self) -> str:
        return self.compiled.sql

    def instances(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        """Model instances of fetched rows, as the queryset's iterator makes them."""
        compiled = self.compiled
        connection = connections[self.alias]
        found = []
        for raw in rows:
            row = list(raw)
            for position, functions, expression in compiled.converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            obj = compiled.model.from_db(self.alias, compiled.init_list, row[compiled.model_slice])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, position in compiled.annotations:
                setattr(obj, name, row[position])
            found.append(obj)
        return found


class PreparedQuery(Generic[M]):
    def __init__(self, build: Callable[[int], QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}
        self._model_class: type[Model] | None = None

    def _compile(self, alias: str) -> _Compiled:
        queryset: Any = self._build(_STAND_IN).using(alias)
        if (
            queryset._iterable_class is not ModelIterable
            or queryset._prefetch_related_lookups
            or queryset._known_related_objects
        ):
            raise ValueError("PreparedQuery: model querysets only, without prefetch_related")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        positions = tuple(i for i, value in enumerate(params) if value == _STAND_IN)
        if not positions:
            raise ValueError("PreparedQuery: the built queryset does not use its key")
        select, klass_info = compiler.select, compiler.klass_info
        fields = [column[0] for column in select[0 : compiler.col_count]]
        if compiler.has_composite_fields(fields):
            raise ValueError("PreparedQuery: composite primary keys are not supported")
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        converters = compiler.get_converters(fields)
        return _Compiled(
            sql=sql,
            params=tuple(params),
            positions=positions,
            model=klass_info["model"],
            init_list=tuple(column[0].target.attname for column in select[start:end]),
            model_slice=slice(start, end),
            populators=tuple(get_related_populators(klass_info, select, alias)),  # type: ignore[call-arg]
            annotations=tuple(compiler.annotation_col_map.items()),
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in converters.items()
            ),
        )

    def __call__(self, key: int) -> list[M]:
        return run_together((self, key))[0]

    def _bound(self, key: int) -> _Bound:
        alias = router.db_for_read(self._model())
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiled = self._compiled[alias] = self._compile(alias)
        params = list(compiled.params)
        for position in compiled.positions:
            params[position] = int(key)
        return _Bound(compiled, tuple(params), alias)

    def _model(self) -> type[Model]:
        if self._model_class is None:
            self._model_class = self._build(_STAND_IN).model
        return self._model_class


class Along(Protocol):
    """A statement to send in the same round trip as run_together's reads (an audit
    append): its SQL and parameters where this connection can take it, else None and
    it runs on its own after the reads; take() receives its rows."""

    def statement(self, db: Any) -> tuple[str, Sequence[Any]] | None: ...

    def take(self, rows: list[tuple[Any, ...]]) -> None: ...

    def run(self) -> None: ...


def run_together(
    *reads: tuple[PreparedQuery[Any], int], along: Sequence[Along] = ()
) -> list[list[Any]]:
    """Several prepared reads, each with its key, in one round trip on PostgreSQL (as
    statements prepared on the server, in the driver's pipeline mode, or else as one
    text of several statements), else one after the other; the rows of each, in order.
    The `along` statements go in the same pipeline after the reads, or run after them."""
    bound = [query._bound(key) for query, key in reads]
    aliases = {b.alias for b in bound}
    if len(aliases) > 1:
        results = [run_together(read)[0] for read in reads]
        for extra in along:
            extra.run()
        return results
    connection = connections[bound[0].alias] if bound else connections["default"]
    sending: list[tuple[Along, tuple[str, Sequence[Any]]]] = []
    for extra in along:
        statement = extra.statement(connection)
        if statement is None:
            continue
        sending.append((extra, statement))
    if len(bound) > 1 and takes_many_statements(connection) and not prepares_statements(connection):
        results = _read_as_one_text(connection, bound)
        extras_sent: list[Along] = []
    else:
        results = _read_pipelined(connection, bound, sending)
        extras_sent = [extra for extra, _ in sending]
    for extra in along:
        if not any(extra is sent for sent in extras_sent):
            extra.run()
    return results


def _read_as_one_text(connection: Any, bound: list[_Bound]) -> list[list[Any]]:
    """PostgreSQL without prepared statements: the reads as one text of statements."""
    with connection.cursor() as cursor:
        cursor.execute("; ".join(b.sql for b in bound), [p for b in bound for p in b.params])
        results = []
        for index, b in enumerate(bound):
            if index:
                cursor.nextset()
            results.append(b.instances(cursor.fetchall()))
        return results


def _read_pipelined(
    connection: Any, bound: list[_Bound], sending: list[tuple[Along, tuple[str, Sequence[Any]]]]
) -> list[list[Any]]:
    """Prepared statements sent together in a pipeline (or one after the other where
    there is none); each `along` statement's rows go to the along that made it."""
    sent = [(b.sql, b.params) for b in bound] + [statement for _, statement in sending]
    with pipelined(connection, len(sent)) as cursors:
        for cursor, (sql, params) in zip(cursors, sent, strict=True):
            cursor.execute(sql, params)
        results = [
            b.instances(cursor.fetchall()) for cursor, b in zip(cursors, bound, strict=False)
        ]
        for cursor, (extra, _) in zip(cursors[len(bound) :], sending, strict=True):
            extra.take(cursor.fetchall())
    return results
