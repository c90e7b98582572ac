"""The import ledger: runs, quarantined rows, merges and kept extra columns.

These tables live in the warehouse next to the canonical ones and are created by
the importer (``create table if not exists``), so an import's bookkeeping commits
or rolls back with its rows.
"""

from __future__ import annotations

import duckdb
import polars as pl

from analytics.warehouse.runner import run

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


def create_ledger(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in LEDGER_SCHEMA.values():
        con.execute(ddl)


def _has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute("select count(*) from information_schema.tables where table_name = 'import_runs'").fetchall()
    return rows[0][0] > 0


def import_history(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pl.DataFrame:
    """The latest import runs, newest first (empty when nothing was imported yet)."""
    if not _has_ledger(con):
        return pl.DataFrame()
    return run(
        con,
        """
        select started_at, source, table_name, file, rows_read, rows_loaded, rows_updated, rows_merged,
               rows_quarantined, rows_enriched, quality_score, run_id
        from import_runs
        order by started_at desc
        limit ?""",
        [limit],
    )


def quarantined_rows(con: duckdb.DuckDBPyConnection, run_id: str | None = None, limit: int = 10_000) -> pl.DataFrame:
    """Quarantined rows with file, line, reason and raw values (one run, or all runs)."""
    if not _has_ledger(con):
        return pl.DataFrame()
    return run(
        con,
        """
        select q.file, q.line, q.reason, q.raw_values, q.source, q.table_name, q.run_id, r.started_at
        from import_quarantine q
        join import_runs r using (run_id)
        where $run_id is null or q.run_id = $run_id
        order by r.started_at desc, q.file, q.line
        limit $limit""",
        {"run_id": run_id, "limit": limit},
    )


def merge_log(con: duckdb.DuckDBPyConnection, run_id: str | None = None, limit: int = 10_000) -> pl.DataFrame:
    if not _has_ledger(con):
        return pl.DataFrame()
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

    over the table's import runs ``r`` with ``n_r`` rows read and batch score
    ``Q_r`` (see :func:`analytics.imports.rules.quality_score`).
    """
    if not _has_ledger(con):
        return pl.DataFrame()
    return run(
        con,
        """
        with scored as (
            select table_name, rows_read, rows_quarantined, quality_score
            from import_runs
            where rows_read > 0
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
