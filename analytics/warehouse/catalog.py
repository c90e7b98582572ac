"""What the warehouse holds: per-table row counts, date ranges, freshness, samples.

Freshness of a table is ``as_of - last``: the whole days between its newest row
(by the table's time column, :data:`analytics.warehouse.schema.TIME_COLUMNS`) and ``as_of``
(default: today). Tables without a time column have no freshness.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from analytics.core.errors import RevLensError
from analytics.warehouse.runner import run
from analytics.warehouse.schema import LATER_TABLES, TABLES, TIME_COLUMNS

SUMMARY_SCHEMA = {
    "table": pl.String,
    "rows": pl.Int64,
    "first": pl.Datetime("us"),
    "last": pl.Datetime("us"),
    "freshness_days": pl.Int64,
}


def _checked(table: str) -> str:
    if table not in TABLES:
        raise RevLensError(f"There is no table {table!r} in the warehouse; choose one of {', '.join(TABLES)}.")
    return table


def table_summaries(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> pl.DataFrame:
    """One row per canonical table: rows, first and last timestamp, freshness in days."""
    as_of = as_of or date.today()
    # identifiers from the fixed TABLES / TIME_COLUMNS lists only
    parts = []
    present = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
    for table in TABLES:
        column = TIME_COLUMNS[table]
        if table in LATER_TABLES and table not in present:  # an older warehouse: none of these rows yet
            parts.append(
                f"select '{table}' as table_name, 0 as rows, null::timestamp as first, null::timestamp as last"
            )
        elif column:
            parts.append(
                f"select '{table}' as table_name, count(*) as rows, min({column})::timestamp as first, "
                f"max({column})::timestamp as last from {table}"
            )
        else:
            parts.append(
                f"select '{table}' as table_name, count(*) as rows, null::timestamp as first, "
                f"null::timestamp as last from {table}"
            )
    sql = f"""
        with tables as ({" union all ".join(parts)})
        select table_name as "table", rows, first, last,
               date_diff('day', last::date, $as_of::date) as freshness_days
        from tables
    """
    summary = run(con, sql, {"as_of": as_of})
    order = {name: i for i, name in enumerate(TABLES)}
    return summary.sort(pl.col("table").replace_strict(order, return_dtype=pl.Int64))


def sample_rows(con: duckdb.DuckDBPyConnection, table: str, limit: int = 50) -> pl.DataFrame:
    """The newest ``limit`` rows of ``table`` (by its time column when it has one)."""
    table = _checked(table)
    column = TIME_COLUMNS[table]
    order = f"order by {column} desc nulls last" if column else ""
    return run(con, f"select * from {table} {order} limit $limit", {"limit": int(limit)})


def export_table(con: duckdb.DuckDBPyConnection, table: str) -> bytes:
    """The whole table as CSV bytes (UTF-8, header row; text cells neutralized against formula injection)."""
    from analytics.core.cells import csv_text

    return csv_text(run(con, f"select * from {_checked(table)}")).encode("utf-8")


def loaded_at(meta: dict[str, str]) -> datetime | None:
    text = meta.get("loaded_at")
    return datetime.fromisoformat(text) if text else None


# When each table's data is stale: days since its newest row (by its time column). Event streams
# arrive daily, cost sheets and invoices monthly; reps and time off are not dated streams.
STALE_AFTER_DAYS: dict[str, int] = {
    "accounts": 90,
    "contacts": 14,
    "campaigns": 90,
    "touchpoints": 7,
    "opportunities": 14,
    "campaign_costs": 45,
    "feature_usage_events": 3,
    "support_tickets": 7,
    "invoices": 45,
    "email_events": 7,
    "content_events": 14,
    "feedback": 30,
    "page_views": 7,
    "sales_activities": 7,
}


def stale_thresholds(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """Days after which each table is stale: :data:`STALE_AFTER_DAYS`, with ``overrides`` (``"*"``: every table)."""
    overrides = overrides or {}
    every = overrides.get("*")
    thresholds = {table: every if every is not None else days for table, days in STALE_AFTER_DAYS.items()}
    thresholds.update({table: days for table, days in overrides.items() if table in TABLES})
    return thresholds


def freshness(summary: pl.DataFrame, thresholds: dict[str, int]) -> pl.DataFrame:
    """``summary`` (:func:`table_summaries`) with ``stale_after_days`` and ``stale``.

    A table is stale when its ``freshness_days`` exceeds its threshold; a table without a
    threshold, rows or a time column is never stale (``stale`` is null).
    """
    return summary.with_columns(
        pl.col("table").replace_strict(thresholds, default=None, return_dtype=pl.Int64).alias("stale_after_days")
    ).with_columns(
        pl.when(pl.col("stale_after_days").is_null() | pl.col("freshness_days").is_null())
        .then(None)
        .otherwise(pl.col("freshness_days") > pl.col("stale_after_days"))
        .alias("stale")
    )
