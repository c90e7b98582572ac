"""The import ledger: runs, quarantined rows, merges, kept extra columns, ledger keys and channel labels.

These tables live in the warehouse next to the canonical ones and are created by
the importer (``create table if not exists``; columns added since are added to an older
warehouse), so an import's bookkeeping commits or rolls back with its rows:

- ``import_runs``: one row per import or recheck: counts, scores, money (ledger sources),
  warnings, the file's headers and the mapping's text (a recheck maps rows as they were);
- ``import_quarantine``: every rejected row with file, line, reasons and raw values; a row a
  recheck loaded keeps its place, marked with the recheck's run (``resolved_run_id``);
- ``import_merge_log`` and ``import_extra``: merged rows, and unmapped columns of tables
  without an ``extra`` column;
- ``import_ledger_keys``: per key of a ledger table (a cost sheet's campaign, day, category and
  platform), the run whose lines set its total;
- ``channel_labels``: a channel only the user's data has, with the text of its export
  (``email_nurture`` → "Email Nurture"); pages show that label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from analytics.warehouse.runner import rows, run

if TYPE_CHECKING:  # polars only where a frame is returned (the app's first page imports this module)
    import polars as pl

LEDGER_SCHEMA: dict[str, str] = {
    "import_runs": """
        create table if not exists import_runs (
            run_id varchar primary key,
            source varchar not null,
            table_name varchar not null,
            file varchar not null,
            mapping varchar,
            started_at timestamp,
            finished_at timestamp,
            rows_read bigint,
            rows_loaded bigint,
            rows_updated bigint,
            rows_merged bigint,
            rows_quarantined bigint,
            rows_enriched bigint,
            structure_score double,
            content_score double,
            business_score double,
            quality_score double,
            headers json,
            unmapped json
        )""",
    "channel_labels": """
        create table if not exists channel_labels (
            channel varchar primary key,
            label varchar not null,
            source varchar,
            first_run_id varchar
        )""",
    "import_ledger_keys": """
        create table if not exists import_ledger_keys (
            table_name varchar not null,
            record_key varchar not null,
            run_id varchar not null,
            amount double,
            primary key (table_name, record_key)
        )""",
    "import_quarantine": """
        create table if not exists import_quarantine (
            run_id varchar not null,
            source varchar not null,
            table_name varchar not null,
            file varchar not null,
            line bigint not null,
            reason varchar not null,
            raw_values json
        )""",
    "import_merge_log": """
        create table if not exists import_merge_log (
            run_id varchar not null,
            table_name varchar not null,
            record_id varchar not null,
            matched_on varchar not null,
            file varchar not null,
            merged_line bigint,
            merged_values json,
            kept_line bigint,
            kept_values json,
            key_column varchar,  -- the merged row's key (e.g. its CRM id), so references to it
            merged_key varchar   -- resolve to the record it was merged into
        )""",
    # unmapped columns of tables that have no `extra` column of their own
    "import_extra": """
        create table if not exists import_extra (
            table_name varchar not null,
            record_key varchar not null,
            extra json,
            primary key (table_name, record_key)
        )""",
}


# Columns added to the ledger after warehouses were built with it (added by create_ledger).
ADDED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "import_runs": (
        ("kind", "varchar default 'import'"),  # import | recheck
        ("rechecked_run_id", "varchar"),  # a recheck: the run whose quarantined rows it checked
        ("validity_score", "double"),
        ("amount_read", "double"),
        ("amount_loaded", "double"),
        ("amount_quarantined", "double"),
        ("amount_replaced", "double"),
        ("warnings", "json"),
        ("mapping_text", "varchar"),
    ),
    "import_quarantine": (("resolved_run_id", "varchar"),),
}


def create_ledger(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in LEDGER_SCHEMA.values():
        con.execute(ddl)
    for table, columns in ADDED_COLUMNS.items():
        for column, sql_type in columns:  # identifiers from the fixed list above
            con.execute(f"alter table {table} add column if not exists {column} {sql_type}")


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = rows(con, "select count(*) from information_schema.tables where table_name = ?", [table])
    return found[0][0] > 0


def _has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    return _has_table(con, "import_runs")


def _or_null(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], alias: str = "") -> str:
    """``alias.column`` for each of ``columns``, or ``null as column`` where an older ledger lacks it."""
    have = {r[0] for r in rows(con, "select column_name from information_schema.columns where table_name = ?", [table])}
    return ", ".join(f"{alias}{c}" if c in have else f"null as {c}" for c in columns)


def _empty():
    import polars as pl

    return pl.DataFrame()


def channel_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Channel -> the text it came from, for the channels only the user's data has (empty before any)."""
    if not _has_table(con, "channel_labels"):
        return {}
    return dict(rows(con, "select channel, label from channel_labels"))


RUN_COLUMNS_SHOWN = ("kind", "amount_read", "amount_loaded", "amount_quarantined", "amount_replaced", "warnings")


def import_history(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pl.DataFrame:
    """The latest import runs, newest first (empty when nothing was imported yet)."""
    if not _has_ledger(con):
        return _empty()
    added = _or_null(con, "import_runs", RUN_COLUMNS_SHOWN)
    return run(
        con,
        f"""
        select started_at, source, table_name, file, rows_read, rows_loaded, rows_updated, rows_merged,
               rows_quarantined, rows_enriched, quality_score, {added}, run_id
        from import_runs
        order by started_at desc
        limit ?""",
        [limit],
    )


def quarantined_rows(
    con: duckdb.DuckDBPyConnection, run_id: str | None = None, limit: int = 10_000, resolved: bool = False
) -> pl.DataFrame:
    """Quarantined rows with file, line, reason and raw values (one run, or all runs).

    The rows still in quarantine; with ``resolved``, also those a recheck has loaded since.
    """
    if not _has_ledger(con):
        return _empty()
    resolved_run = _or_null(con, "import_quarantine", ("resolved_run_id",), "q.")
    return run(
        con,
        f"""
        with quarantine as (
            select q.file, q.line, q.reason, q.raw_values, q.source, q.table_name, q.run_id, {resolved_run}
            from import_quarantine q
        )
        select q.file, q.line, q.reason, q.raw_values, q.source, q.table_name, q.run_id, r.started_at,
               q.resolved_run_id
        from quarantine q
        join import_runs r using (run_id)
        where ($run_id is null or q.run_id = $run_id) and ($resolved or q.resolved_run_id is null)
        order by r.started_at desc, q.file, q.line
        limit $limit""",
        {"run_id": run_id, "limit": limit, "resolved": resolved},
    )


def quarantine_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows still in quarantine, per source (empty before any import)."""
    if not _has_ledger(con):
        return {}
    resolved_run = _or_null(con, "import_quarantine", ("resolved_run_id",))
    return dict(
        rows(
            con,
            f"""with quarantine as (select source, {resolved_run} from import_quarantine)
                select source, count(*) from quarantine where resolved_run_id is null group by 1 order by 1""",
        )
    )


def merge_log(con: duckdb.DuckDBPyConnection, run_id: str | None = None, limit: int = 10_000) -> pl.DataFrame:
    if not _has_ledger(con):
        return _empty()
    return run(
        con,
        """
        select m.table_name, m.record_id, m.matched_on, m.file, m.merged_line, m.merged_values,
               m.kept_line, m.kept_values, m.run_id
        from import_merge_log m
        where $run_id is null or m.run_id = $run_id
        order by m.file, m.merged_line
        limit $limit""",
        {"run_id": run_id, "limit": limit},
    )


def quality_by_table(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Quality per warehouse table: row-weighted mean of its imports' scores.

    .. math:: Q_{table} = \\frac{\\sum_r n_r Q_r}{\\sum_r n_r}

    over the table's import runs ``r`` (rechecks excluded: their rows were counted by the import
    they came from) with ``n_r`` rows read and batch score ``Q_r`` (see
    :func:`analytics.imports.rules.quality_score`).
    """
    if not _has_ledger(con):
        return _empty()
    return run(
        con,
        f"""
        with runs as (
            select table_name, rows_read, rows_quarantined, quality_score, {_or_null(con, "import_runs", ("kind",))}
            from import_runs
        ),
        scored as (
            select table_name, rows_read, rows_quarantined, quality_score
            from runs
            where rows_read > 0 and coalesce(kind, 'import') = 'import'
        )
        select table_name,
               round(sum(rows_read * quality_score) / sum(rows_read), 1) as quality_score,
               count(*) as imports,
               sum(rows_read) as rows_read,
               sum(rows_quarantined) as rows_quarantined
        from scored
        group by table_name
        order by table_name""",
    )
