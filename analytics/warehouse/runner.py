"""The one seam every warehouse query goes through: ``run(con, query, params) -> polars``.

A query is SQL text or a named :class:`Query`, declared once in the module that owns it,
so that a reader can print it and EXPLAIN it without running Python
(``python -m analytics sql show NAME``, ``sql explain NAME``). Values are always bound:
``$name`` placeholders with a dict (only the names a statement uses are passed on, so a
caller may hand every statement the same dict), or ``?`` with a list.

``con`` is a DuckDB connection (or cursor), or any object with the same methods as
:class:`DuckDBRunner` (``run``, ``execute``, ``rows``, and ``has_tables`` for the derived
tables' check): :class:`analytics.warehouse.spark.SparkRunner` is one. :func:`engine_of` names
the engine, for the few queries that have a form per engine. Only
aggregates should come back through :func:`run`; row-level work stays in SQL.

:func:`recording` collects every statement run inside it, with its parameters: the CLI's
``--show-sql`` and the engine parity tests use it.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # polars is only needed once a query returns a frame
    import polars as pl

Params = dict[str, Any] | list | tuple | None

_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Query:
    """A named SQL statement: ``name`` is ``<package>.<purpose>``, ``sql`` a chain of named CTEs."""

    name: str
    sql: str
    description: str = ""

    def __post_init__(self):
        if self.name in QUERIES and QUERIES[self.name].sql != self.sql:
            raise ValueError(f"two queries are named {self.name!r}")
        QUERIES[self.name] = self

    def __str__(self) -> str:
        return self.sql


# Every named query, by name (filled as the modules that declare them are imported).
QUERIES: dict[str, Query] = {}

# Example values of the parameters of the queries whose names start with a prefix, made from a
# warehouse connection: ``sql explain`` binds them (the user's --param values win) and the tests
# EXPLAIN every registered query with them.
EXAMPLES: dict[str, Callable[[Any], dict]] = {}


def example_params(prefix: str) -> Callable[[Callable[[Any], dict]], Callable[[Any], dict]]:
    """Register ``func(con) -> {name: value}`` as example parameters of the queries named ``prefix...``."""

    def register(func: Callable[[Any], dict]) -> Callable[[Any], dict]:
        EXAMPLES[prefix] = func
        return func

    return register


def examples_for(con, name: str) -> dict:
    """The example parameters of the query ``name`` (every matching prefix, shortest first)."""
    params: dict = {}
    for prefix in sorted(EXAMPLES, key=len):
        if name.startswith(prefix):
            params.update(EXAMPLES[prefix](con))
    return params


def sql_of(query: Query | str) -> str:
    return query.sql if isinstance(query, Query) else query


def name_of(query: Query | str) -> str:
    return query.name if isinstance(query, Query) else "(inline)"


def bound(sql: str, params: Params) -> Params:
    """The parameters ``sql`` uses: a dict is cut to the ``$names`` in it (DuckDB rejects extra ones)."""
    if not isinstance(params, dict):
        return list(params) if params else None
    used = set(_PARAMETER.findall(sql))
    return {key: value for key, value in params.items() if key in used} or None


class _Recorder:
    def __init__(self):
        self.local = threading.local()

    def active(self) -> list | None:
        return getattr(self.local, "statements", None)

    def add(self, kind: str, query: Query | str, params: Params) -> None:
        statements = self.active()
        if statements is not None:
            statements.append({"kind": kind, "name": name_of(query), "sql": sql_of(query), "params": params})


_recorder = _Recorder()


@contextlib.contextmanager
def recording() -> Iterator[list[dict]]:
    """Collect ``{kind, name, sql, params}`` of every statement run in this thread inside the block."""
    previous = _recorder.active()
    _recorder.local.statements = []
    try:
        yield _recorder.local.statements
    finally:
        _recorder.local.statements = previous


class DuckDBRunner:
    """The runner over a DuckDB connection or cursor (the default engine)."""

    engine = "duckdb"

    def __init__(self, con):
        self.con = con

    def run(self, query: Query | str, params: Params = None) -> pl.DataFrame:
        # DuckDB 2.x dropped ``.pl()`` from ``execute`` results; ``sql(..., params=)`` returns a
        # relation that converts without an extra copy.
        sql = sql_of(query)
        return self.con.sql(sql, params=bound(sql, params)).pl()

    def execute(self, statement: Query | str, params: Params = None) -> None:
        sql = sql_of(statement)
        self.con.execute(sql, bound(sql, params))

    def rows(self, query: Query | str, params: Params = None) -> list[tuple]:
        # fetchall, never fetchone: in DuckDB 2.x a half-read result blocks the connection
        sql = sql_of(query)
        return self.con.execute(sql, bound(sql, params)).fetchall()

    def has_tables(self, tables) -> bool:
        """Whether the warehouse's main schema has every one of ``tables``."""
        tables = list(tables)
        found = self.con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main' and list_contains($tables, table_name)",
            {"tables": tables},
        ).fetchall()[0][0]
        return found == len(set(tables))

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` of the main schema has ``column`` (a table an older RevLens built may lack it)."""
        found = self.con.execute(
            "select count(*) from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'main' and table_name = $table and column_name = $column",
            {"table": table, "column": column},
        ).fetchall()[0][0]
        return found > 0


def runner_for(con) -> Any:
    """``con`` itself when it is a runner, else a :class:`DuckDBRunner` over it."""
    return con if hasattr(con, "run") and hasattr(con, "rows") else DuckDBRunner(con)


def engine_of(con) -> str:
    """``"duckdb"`` or ``"spark"``: the engine behind ``con`` (for the few queries with a form per engine)."""
    return getattr(runner_for(con), "engine", "duckdb")


def run(con, query: Query | str, params: Params = None) -> pl.DataFrame:
    """Run a query and return its (small, aggregated) result as a polars frame."""
    _recorder.add("run", query, params)
    return runner_for(con).run(query, params)


def execute(con, statement: Query | str, params: Params = None) -> None:
    """Run a statement for its effect (a temporary table, a DDL statement, an insert)."""
    _recorder.add("execute", statement, params)
    runner_for(con).execute(statement, params)


def rows(con, query: Query | str, params: Params = None) -> list[tuple]:
    """Run a query and return its rows as tuples (for a few values, without polars)."""
    _recorder.add("rows", query, params)
    return runner_for(con).rows(query, params)


def profiled_rows(con, query: Query | str, params: Params = None) -> tuple[list[tuple], dict]:
    """:func:`rows`, with DuckDB's profiler on for this statement only: returns the rows and the statement's
    profile (``{"operator": [tree]}``, each operator with ``type``, ``extra_info``, ``intermediate_rows``
    (the rows it produced) and ``children``). The profile is read from DuckDB, not printed."""
    import json

    import duckdb

    _recorder.add("rows", query, params)
    runner = runner_for(con)
    runner.con.execute("set enable_profiling = 'no_output'")
    runner.con.execute("set profiling_coverage = 'ALL'")  # an INSERT too, not only a SELECT
    try:
        result = runner.rows(query, params)
        profile = json.loads(runner.con.get_profiling_information(format="json"))
    finally:
        for setting in ("profiling_coverage", "enable_profiling"):
            with contextlib.suppress(duckdb.Error):  # a failed statement aborts the transaction: reset later
                runner.con.execute(f"reset {setting}")
    return result, profile


def scalar(con, query: Query | str, params: Params = None):
    """The first column of the first row, or None."""
    result = rows(con, query, params)
    return result[0][0] if result else None
