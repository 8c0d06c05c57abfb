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

from django.db import router
from django.db.models import Model, QuerySet

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
        alias = router.db_for_read(self._model())
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiled = self._compiled[alias] = self._compile(alias)
        params = list(compiled.params)
        for position in compiled.positions:
            params[position] = int(key)
        compiler = copy.copy(compiled.compiler)
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, tuple(params))
        queryset = compiled.queryset.all()
        query = queryset.query
        query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        return list(queryset)

    def _model(self) -> type[Model]:
        if self._model_class is None:
            self._model_class = self._build(_STAND_IN).model
        return self._model_class
