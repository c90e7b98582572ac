"""Derived tables: what a capability builds from the canonical tables at every load.

A capability that keeps tables of its own in the warehouse (attribution's journeys, the
health history) declares them as a :class:`DerivedTables` and lists it in
:data:`analytics.loads.DERIVED`, with the canonical tables its build reads (``sources``).
A load rebuilds, in its own transaction after stamping the new version, the derived tables
whose sources it changed, and marks the others current for the new version without
rebuilding them (their rows are still right); it records the version they stand for in
``_meta`` (``<name>_version``). They are current when that equals ``_meta.version``: a
warehouse changed without a load, or built before the tables existed, has stale ones, and
their readers fall back to the canonical tables (or say so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb

from analytics.warehouse.runner import Query, runner_for

_SET_VERSION = "insert into _meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value"


@dataclass(frozen=True)
class DerivedTables:
    """A capability's derived tables, the canonical tables they are built from, and the build.

    ``build(con)`` replaces every table in ``tables`` from the canonical ones, inside the
    caller's transaction. ``sources``: every canonical table the build reads; ``None``
    (not declared) means any table, so every load rebuilds them.
    """

    name: str
    tables: tuple[str, ...]
    build: Callable[[duckdb.DuckDBPyConnection], None]
    sources: tuple[str, ...] | None = None

    @property
    def version_key(self) -> str:
        return f"{self.name}_version"

    def reads_any(self, changed: Iterable[str] | None) -> bool:
        """Whether a load that changed the tables ``changed`` (``None``: unknown, maybe all) touches a source."""
        if changed is None or self.sources is None:
            return True
        return not set(self.sources).isdisjoint(changed)

    def rebuild(self, con: duckdb.DuckDBPyConnection, version: str) -> None:
        """Build the tables and mark them current for ``version``."""
        self.build(con)
        self.mark_current(con, version)

    def mark_current(self, con: duckdb.DuckDBPyConnection, version: str) -> None:
        """Record that the tables stand for ``version`` (their rows are right for it), without building them."""
        con.execute(_SET_VERSION, [self.version_key, version])

    def current(self, con) -> bool:
        """Whether every table exists and was built for the warehouse's current version
        (``con``: a DuckDB connection, or a runner such as the Spark one over a lake export)."""
        runner = runner_for(con)
        if not runner.has_tables(("_meta", *self.tables)):
            return False
        # a look at the catalog, as has_tables: not recorded among the statements a command runs
        return bool(runner.rows(CURRENT, {"version_key": self.version_key})[0][0])


CURRENT = Query(
    "warehouse.derived_current",
    "select count(*) = 2 and count(distinct value) = 1 from _meta where key in ('version', $version_key)",
    "Whether a capability's derived tables were built for the warehouse's current version ($version_key).",
)
