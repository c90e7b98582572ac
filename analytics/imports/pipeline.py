"""The import pipeline: map → validate → enrich → detect duplicates → merge → upsert.

This module runs the steps, in one transaction per file; what they run lives apart:
the plan (which header feeds which column, :mod:`analytics.imports.plan`), the SQL built
from it (:mod:`analytics.imports.sql`) and the rules a row must meet
(:mod:`analytics.imports.rules`). Every statement goes through
:mod:`analytics.warehouse.runner`.

Everything row-level runs as set-based DuckDB SQL. DuckDB streams the file once
(:mod:`analytics.imports.reading`) through steps 1-5 into the typed staging table
``import_typed``; steps 6-7 read that table, in one transaction per file (the file is
read again only for the raw text of quarantined and merged rows):

1. **Map and parse** each warehouse column from its header(s) (values map,
   prefix, typed parsing from :mod:`analytics.imports.values`); columns no entry
   names go to the ``extra`` JSON (or ``import_extra`` for tables without one).
2. **Resolve** references to other tables and fill lookups.
3. **Enrich** contacts where it is safe: ``company`` from a corporate email
   domain (never a free-mail domain), ``account_id`` from the account with that
   domain.
4. **Validate**: structure (every non-empty typed value parses), content
   (required values present, email format, allowed channel and cost category)
   and business rules (:data:`~analytics.imports.rules.BUSINESS_RULES`). A row failing any check is
   quarantined with its file, line, raw values and every reason.
5. **Match** each valid row to its record: an existing record with the same key
   (the CRM id), else an existing record with the same duplicate key (normalized
   email + company), else a new record (rows of the batch sharing a duplicate key
   form one new record).
6. **Merge** each record that more than one row (or an existing record) feeds:
   per field, the most recent non-null value wins (most recent = later
   ``updated_at``, then the file over the warehouse, then the later line); the
   key of an existing record is kept. Every merged row is logged with the row it
   was merged into (``import_merge_log``).
7. **Upsert** on the primary key (tables without one: replace rows with the same
   key), record the run, and :func:`~analytics.loads.finish_load` (a new warehouse version
   and the derived tables rebuilt).

Counting: the best-ranked row of a record is *loaded* (new record) or *updated*
(record matched by its key); every other row is *merged*; failing rows are
*quarantined*, so ``rows_read = rows_loaded + rows_updated + rows_merged +
rows_quarantined`` by construction, and the pipeline checks it before committing.
Re-importing the same file matches every record by its key, and the merge picks
the same values, so the canonical tables do not change.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analytics.imports import sql
from analytics.imports.ledger import create_ledger
from analytics.imports.mapping import Source, source_for
from analytics.imports.plan import ImportPlan, described_columns, plan_import
from analytics.imports.reading import FileLayout, describe_file, with_read_retries
from analytics.imports.rules import quality_score
from analytics.loads import finish_load
from analytics.warehouse.runner import execute, rows, run, scalar
from analytics.warehouse.schema import create_schema

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ImportResult:
    """What one file's import did; the counts satisfy read = loaded + updated + merged + quarantined."""

    source: str
    file: str
    table: str
    run_id: str
    rows_read: int
    rows_loaded: int
    rows_updated: int
    rows_merged: int
    rows_quarantined: int
    rows_enriched: int
    structure_score: float | None
    content_score: float | None
    business_score: float | None
    quality_score: float | None
    unmapped: tuple[str, ...]

    def summary(self) -> dict:
        """The CLI's ``--json`` object."""
        keys = (
            "source",
            "file",
            "rows_read",
            "rows_loaded",
            "rows_updated",
            "rows_merged",
            "rows_quarantined",
            "quality_score",
        )
        return {k: v for k, v in asdict(self).items() if k in keys}


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for name in sql.TEMP_TABLES:
        execute(con, f"drop table if exists {name}")


def import_file(
    con: duckdb.DuckDBPyConnection,
    source_name: str,
    path: str | Path,
    mapping: str | Path | None = None,
    progress: Progress | None = None,
    file_label: str | None = None,
) -> ImportResult:
    """Import one file of ``source_name`` into the open (read-write) warehouse ``con``.

    Parameters
    ----------
    con : a read-write connection; the import runs in one transaction on it.
    source_name : one of :data:`analytics.imports.mapping.SOURCES`.
    path : CSV (any common dialect), XLSX, Parquet or JSON lines file.
    mapping : a mapping file to use instead of the default for the source's family.
    progress : called with (fraction, message) between the steps.
    file_label : the name recorded as the row's file (default: the path given).

    Raises
    ------
    RevLensError
        When the file cannot be read, or lacks a required column (nothing changes).
    """
    progress = progress or (lambda fraction, message: None)
    path = Path(path)
    file_label = file_label or str(path)
    source = source_for(source_name, mapping)
    started = datetime.now(UTC).replace(tzinfo=None)
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="revlens-import-") as workdir:
        progress(0.02, f"Reading the headers of {path.name}")
        layout = describe_file(path, Path(workdir))
        plan = plan_import(source, layout)
        _session(con)
        # idempotent DDL, outside the import's transaction: the checks below read these tables
        create_schema(con)
        create_ledger(con)
        _drop_temp(con)
        try:
            if not layout.empty:
                progress(0.05, f"Reading and validating {path.name}")
                _check(con, plan)
            execute(con, "begin transaction")
            try:
                counts = _write(con, plan, run_id, file_label, progress) if not layout.empty else _no_rows()
                scores = quality_score(
                    counts["read"],
                    counts["structure_ok"],
                    counts["content_ok"],
                    counts["business_ok"],
                    counts["merged"],
                )
                if counts["read"] != counts["loaded"] + counts["updated"] + counts["merged"] + counts["quarantined"]:
                    raise RuntimeError(f"import counts do not reconcile: {counts}")  # a bug, never a user error
                result = ImportResult(
                    source.name,
                    file_label,
                    source.table,
                    run_id,
                    counts["read"],
                    counts["loaded"],
                    counts["updated"],
                    counts["merged"],
                    counts["quarantined"],
                    counts["enriched"],
                    *scores,
                    tuple(layout.headers[i] for i in plan.unmapped),
                )
                _record_run(con, result, source, layout, started)
                finish_load(con, f"import {source.name} {path.name}", changed=(source.table,))
                execute(con, "commit")
            except BaseException:
                execute(con, "rollback")
                raise
        finally:
            _drop_temp(con)
            execute(con, "reset disabled_optimizers")
    progress(1.0, f"Imported {path.name}")
    return result


def _session(con: duckdb.DuckDBPyConnection) -> None:
    """Session settings of an import (this connection only).

    Times parse in UTC. Filter pushdown is off: it would copy the whole parsing
    expression of every column into the ``_valid`` filter below the projections and
    evaluate it twice (measured: 3.5x slower on a touchpoint file).
    """
    execute(con, "set TimeZone = 'UTC'")
    execute(con, "set disabled_optimizers = 'filter_pushdown'")


def _no_rows() -> dict[str, int]:
    return dict.fromkeys(sql.COUNT_NAMES, 0)


_MERGE_LOG_EXISTS = "select count(*) from information_schema.tables where table_name = 'import_merge_log'"


def preview(
    con: duckdb.DuckDBPyConnection, source_name: str, path: str | Path, mapping: str | Path | None = None, rows: int = 5
):
    """The mapping of ``path`` as ``source_name`` and its first ``rows`` rows as they would load.

    Read-only: runs the import's own typed query on the first rows. Returns
    ``(columns, sample)``: per warehouse column the file header that feeds it (or how it
    is filled), and the typed first rows with their line and, when they would be
    quarantined, the reason. Raises like :func:`import_file` on a missing required column.
    """
    import polars as pl

    source = source_for(source_name, mapping)
    with tempfile.TemporaryDirectory(prefix="revlens-preview-") as workdir:
        layout = describe_file(path, Path(workdir))
        plan = plan_import(source, layout)
        plan.preview_rows = rows
        plan.follow_merges = bool(scalar(con, _MERGE_LOG_EXISTS))
        columns = pl.DataFrame(
            described_columns(plan), schema={"column": pl.String, "from": pl.String, "required": pl.Boolean}
        )
        if layout.empty:
            return columns, pl.DataFrame()
        _session(con)
        samples = []

        def read(layout: FileLayout) -> None:
            plan.layout = layout
            samples.append(run(con, sql.preview_sql(plan), plan.bindings()))

        try:
            with_read_retries(layout, read)
        finally:
            execute(con, "reset disabled_optimizers")
    return columns, samples[-1]


def _check(con: duckdb.DuckDBPyConnection, plan: ImportPlan) -> None:
    """Pass 1: read and parse the file once into ``import_typed``, and sum it up.

    It runs before the transaction (it writes a temp table only), so a reader retry
    (see :func:`~analytics.imports.reading.with_read_retries`) does not abort it; the
    plan keeps the layout that read the file for the later passes.
    """

    def read(layout: FileLayout) -> None:
        plan.layout = layout
        execute(con, "drop table if exists import_typed")
        execute(con, sql.staged_sql(plan), plan.bindings())

    plan.layout = with_read_retries(plan.layout, read)
    execute(con, sql.SUMMARY)


def _write(
    con: duckdb.DuckDBPyConnection, plan: ImportPlan, run_id: str, file_label: str, progress: Progress
) -> dict[str, int]:
    """In the transaction: quarantine (when rows failed), merge (when records need it) and
    insert; returns the counts."""
    execute(con, sql.GROUPS)
    has_groups = scalar(con, "select count(*) from import_groups") > 0
    n_quarantined = scalar(con, "select n_read - n_valid from import_summary")
    if n_quarantined or has_groups:
        # line numbers of quarantined and merged rows count the line breaks inside values before them
        execute(con, sql.breaks_sql(plan), plan.bindings())
    if has_groups:
        execute(con, sql.merged_raw_sql(plan), plan.bindings())
    if n_quarantined:
        progress(0.4, f"Quarantining {n_quarantined:,} rows")
        execute(con, sql.quarantine_sql(plan, run_id, file_label), plan.bindings())
    progress(0.6, "Merging duplicates and writing")
    for statement in sql.merge_statements(plan, run_id, file_label, has_groups):
        execute(con, statement, plan.bindings())
    (counts,) = rows(con, sql.COUNTS)
    return {name: int(value) for name, value in zip(sql.COUNT_NAMES, counts)}


def _record_run(con, result: ImportResult, source: Source, layout: FileLayout, started: datetime) -> None:
    execute(
        con,
        sql.RECORD_RUN,
        [
            result.run_id,
            result.source,
            result.table,
            result.file,
            str(source.mapping_file),
            started,
            datetime.now(UTC).replace(tzinfo=None),
            result.rows_read,
            result.rows_loaded,
            result.rows_updated,
            result.rows_merged,
            result.rows_quarantined,
            result.rows_enriched,
            result.structure_score,
            result.content_score,
            result.business_score,
            result.quality_score,
            json.dumps(list(layout.headers)),
            json.dumps(list(result.unmapped)),
        ],
    )
