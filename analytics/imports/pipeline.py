"""The import pipeline: map → validate → enrich → detect duplicates → merge → upsert; and the recheck.

This module runs the steps, in one transaction per file; what they run lives apart:
the plan (which header feeds which column, :mod:`analytics.imports.plan`), the SQL built
from it (:mod:`analytics.imports.sql`) and the rules a row must meet
(:mod:`analytics.imports.rules`). Every statement goes through
:mod:`analytics.warehouse.runner`.

Everything row-level runs as set-based DuckDB SQL. DuckDB streams the file once
(:mod:`analytics.imports.reading`) through steps 1-5 into the typed staging table
``import_typed``; steps 6-7 read that table, in one transaction per file (the file is
read again only for the raw text of quarantined and merged rows). A big append takes a shorter
way (:func:`_write_streamed`, when :func:`analytics.imports.sql.streams`): the valid rows whose key is
new go from the file to the table in one pass, and only the rows whose key repeats or exists are staged
and merged. A table with a primary key hashes and counts the keys first, so that only unique new keys
are inserted; one without (touchpoints, events) inserts first, after a light pass that counts the rows
and their channels, and takes the rows of a key it inserted twice out again; the results are the same
(tested):

1. **Map and parse** each warehouse column from its header(s) (values map,
   prefix, typed parsing from :mod:`analytics.imports.values`; Salesforce ids in their
   18-character form; a channel the mapping does not name kept under its own name);
   columns no entry names go to the ``extra`` JSON (or ``import_extra`` for tables without one).
2. **Resolve** references to other tables (by any key the mapping lists: an id, a CRM id in
   either Salesforce form, a domain, a name) and fill lookups.
3. **Enrich** contacts where it is safe: ``company`` from a corporate email
   domain (never a free-mail domain), ``account_id`` from the account with that
   domain.
4. **Validate**: structure (every non-empty typed value parses), content
   (required values present, email format, allowed cost category and event types)
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
   was merged into (``import_merge_log``). A **ledger** source (a cost sheet) does not
   merge: the lines of one key (campaign, day, category, platform) add up, and their total
   replaces what the warehouse held for the key.
7. **Upsert** on the primary key (tables without one: replace rows with the same
   key), record the run, and :func:`~analytics.loads.finish_load` (a new warehouse version
   and the derived tables rebuilt).

Counting: the best-ranked row of a record is *loaded* (new record) or *updated*
(record matched by its key); every other row is *merged*; failing rows are
*quarantined*, so ``rows_read = rows_loaded + rows_updated + rows_merged +
rows_quarantined`` by construction, and the pipeline checks it before committing. In a
ledger every valid line is loaded (its key is new) or updated (its key's total replaced),
and the money reconciles too: ``amount_read = amount_loaded + amount_quarantined``, and what
the warehouse holds for the sheet's keys after the write is ``amount_loaded``; both are
checked before committing. Re-importing the same file matches every record by its key, and
the merge picks the same values (a ledger: the same totals replace themselves), so the
canonical tables do not change.

**Recheck** (:func:`recheck`): the rows still in quarantine go through the same steps again,
from their kept raw values, under the headers and the mapping of the import they came from.
Rows that pass now are loaded (they fill what is missing and never overwrite a value loaded
since; a ledger line adds to its sheet's total, or replaces an older one, unless a later sheet
has set its key) and marked resolved; rows that still fail keep their place with today's reasons.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from analytics.core.errors import RevLensError
from analytics.imports import sql
from analytics.imports.ledger import create_ledger
from analytics.imports.mapping import Source, load_mapping, source_for
from analytics.imports.plan import ImportPlan, described_columns, plan_import
from analytics.imports.reading import (
    FileLayout,
    FileReadError,
    adapted_layout,
    describe_file,
    quarantine_layout,
    raw_sql,
    read_error,
    with_read_retries,
)
from analytics.imports.rules import OPEN_VOCABULARIES, quality_score
from analytics.imports.values import vocabulary_name
from analytics.loads import finish_load
from analytics.warehouse.runner import execute, profiled_rows, rows, run, scalar
from analytics.warehouse.schema import create_schema

Progress = Callable[[float, str], None]
MONEY_TOLERANCE = Decimal("0.005")  # what the warehouse holds for a sheet's keys may differ by half a cent


@dataclass(frozen=True)
class ImportResult:
    """What one file's import (or one recheck of a file's quarantined rows) did.

    The counts satisfy read = loaded + updated + merged + quarantined; for a ledger source
    (costs) the money too: ``amount_read = amount_loaded + amount_quarantined``, and
    ``amount_replaced`` is what the warehouse held before for the keys the sheet set.
    """

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
    validity_score: float | None
    quality_score: float | None
    unmapped: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    amount_read: float | None = None
    amount_loaded: float | None = None
    amount_quarantined: float | None = None
    amount_replaced: float | None = None
    kind: str = "import"
    rechecked_run_id: str | None = None
    new_labels: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        """The CLI's ``--json`` object (money only for a ledger source, warnings when there are any)."""
        keys = [
            "source",
            "file",
            "rows_read",
            "rows_loaded",
            "rows_updated",
            "rows_merged",
            "rows_quarantined",
            "quality_score",
        ]
        if self.amount_read is not None:
            keys += ["amount_read", "amount_loaded", "amount_quarantined", "amount_replaced"]
        if self.warnings:
            keys.append("warnings")
        if self.kind != "import":
            keys += ["kind", "rechecked_run_id"]
        data = asdict(self)
        return {k: list(data[k]) if k == "warnings" else data[k] for k in keys}


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for name in sql.TEMP_TABLES:
        execute(con, f"drop table if exists {name}")


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse and ledger tables (idempotent DDL; older warehouses get the columns added since)."""
    _session(con)
    create_schema(con)
    create_ledger(con)
    _drop_temp(con)


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
    file_label : the file as the user named it: recorded as the run's file and used by every
        message (default: the path given).

    Raises
    ------
    RevLensError
        When the file cannot be read, holds no rows, or lacks a required column (nothing changes).
    """
    progress = progress or (lambda fraction, message: None)
    path = Path(path)
    file_label = file_label or str(path)
    source = source_for(source_name, mapping)
    started = datetime.now(UTC).replace(tzinfo=None)
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="revlens-import-") as workdir:
        progress(0.02, f"Reading the headers of {file_label}")
        layout = describe_file(path, Path(workdir), name=file_label)
        plan = plan_import(source, layout)
        # idempotent DDL, outside the import's transaction: the checks below read these tables
        prepare(con)
        try:
            streaming = sql.streams(plan)
            first = streaming and sql.inserts_first(plan)
            for attempt in range(4):
                progress(0.05, f"Reading and validating {file_label}")
                # an insert-first import counts the rows as it inserts them (no pass before it)
                n_read = None if first else _count_keys(con, plan) if streaming else _check(con, plan)
                if n_read == 0:
                    raise _no_rows(file_label)
                try:
                    execute(con, "begin transaction")
                    try:
                        if streaming:
                            result = _write_streamed(con, plan, run_id, file_label, progress, started, n_read, first)
                        else:
                            result = _write(con, plan, run_id, file_label, progress, started)
                        finish_load(con, f"import {source.name} {Path(file_label).name}", changed=(source.table,))
                        execute(con, "commit")
                    except BaseException:
                        execute(con, "rollback")
                        raise
                    break
                except duckdb.Error as exc:
                    # a reader error in the transaction (an insert-first import reads the file there first; a
                    # keys-first one's first pass reads some columns only) rolls it back; the import starts again
                    # with the layout that reads the file (a Latin-1 byte past the sampled bytes, quoted line
                    # breaks in the parallel reader), else says why the file cannot be read (nothing was written)
                    adapted = adapted_layout(plan.layout, exc) if streaming and attempt < 3 else None
                    if adapted is None and first and isinstance(exc, duckdb.InvalidInputException):
                        raise read_error(plan.layout, exc) from None  # the insert is the first to read the file
                    if adapted is None:
                        raise
                    plan.layout = adapted
                    _drop_temp(con)
        finally:
            _drop_temp(con)
            for setting in ("disabled_optimizers", "profiling_coverage", "enable_profiling"):
                execute(con, f"reset {setting}")
    progress(1.0, f"Imported {file_label}")
    return result


def _rows_scanned(profile: dict) -> int | None:
    """The rows the file scan of a profiled statement produced (:func:`~analytics.warehouse.runner.profiled_rows`):
    the rows read, when the scan had no filter pushed into it (the import's session turns filter pushdown
    off); None when the profile has no such scan, or more than one."""
    found = []
    nodes = list(profile.get("operator", ()))
    while nodes:
        node = nodes.pop()
        info = node.get("extra_info") or {}
        if node.get("type") == "TABLE_SCAN" and str(info.get("Function", "")).startswith("READ_"):
            found.append(None if info.get("Filters") else node.get("intermediate_rows"))
        nodes += node.get("children", ())
    return int(found[0]) if len(found) == 1 and found[0] is not None else None


def _no_rows(file_label: str) -> FileReadError:
    return FileReadError(f"{file_label} has a header but no rows; export it again with its rows, then import it.")


def _session(con: duckdb.DuckDBPyConnection) -> None:
    """Session settings of an import (this connection only).

    Times parse in UTC. Filter pushdown is off: it would copy the whole parsing
    expression of every column into the ``_valid`` filter below the projections and
    evaluate it twice (measured: 3.5x slower on a touchpoint file).
    """
    execute(con, "set TimeZone = 'UTC'")
    execute(con, "set disabled_optimizers = 'filter_pushdown'")


_MERGE_LOG_EXISTS = "select count(*) from information_schema.tables where table_name = 'import_merge_log'"


def preview(
    con: duckdb.DuckDBPyConnection,
    source_name: str,
    path: str | Path,
    mapping: str | Path | None = None,
    rows: int = 5,
    file_label: str | None = None,
):
    """The mapping of ``path`` as ``source_name`` and its first ``rows`` rows as they would load.

    Read-only: runs the import's own typed query on the first rows. Returns
    ``(columns, sample)``: per warehouse column the file header that feeds it (or how it
    is filled), and the typed first rows with their line and, when they would be
    quarantined, the reason. Raises like :func:`import_file` on a missing required column
    and on a file without rows.
    """
    import polars as pl

    source = source_for(source_name, mapping)
    name = file_label or str(path)
    with tempfile.TemporaryDirectory(prefix="revlens-preview-") as workdir:
        layout = describe_file(path, Path(workdir), name=name)
        plan = plan_import(source, layout)
        plan.preview_rows = rows
        plan.follow_merges = bool(scalar(con, _MERGE_LOG_EXISTS))
        columns = pl.DataFrame(
            described_columns(plan), schema={"column": pl.String, "from": pl.String, "required": pl.Boolean}
        )
        _session(con)
        samples = []

        def read(layout: FileLayout) -> None:
            plan.layout = layout
            samples.append(run(con, sql.preview_sql(plan), plan.bindings()))

        try:
            with_read_retries(layout, read)
        finally:
            execute(con, "reset disabled_optimizers")
    if samples[-1].is_empty():
        raise FileReadError(f"{name} has a header but no rows; export it again with its rows, then import it.")
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
    return scalar(con, "select n_read from import_summary")


def _count_keys(con: duckdb.DuckDBPyConnection, plan: ImportPlan) -> int:
    """Pass 1 of a streamed import: the keys of every row, hashed and counted (``import_keyhash``);
    returns the rows read. It reads the file before the transaction, as :func:`_check` does."""

    def read(layout: FileLayout) -> None:
        plan.layout = layout
        execute(con, "drop table if exists import_keyhash")
        execute(con, sql.key_hash_sql(plan), plan.bindings())

    plan.layout = with_read_retries(plan.layout, read)
    return int(scalar(con, "select coalesce(sum(n), 0) from import_keyhash where _by_key"))


def _create(con: duckdb.DuckDBPyConnection, plan: ImportPlan, statement: str, any_rows: bool) -> None:
    """Run a ``create temp table ... as select`` statement, or, when it can have no rows, create its empty
    table without reading the file."""
    bindings = plan.bindings()
    if not any_rows:
        statement = sql.empty_table_sql(statement, rows(con, f"describe {sql.select_of(statement)}", bindings))
    execute(con, statement, bindings)


def _write_streamed(
    con: duckdb.DuckDBPyConnection,
    plan: ImportPlan,
    run_id: str,
    file_label: str,
    progress: Progress,
    started: datetime,
    n_read: int | None,
    first: bool = False,
) -> ImportResult:
    """In the transaction, a big append in one pass: the valid rows whose key is new and unique go from the
    file to the table; the few whose key repeats or exists take the merge path (``import_typed``); the
    rejected rows, if any, are read once more for the quarantine. Same counts, same identity.

    ``first`` (:func:`analytics.imports.sql.inserts_first`): the valid rows whose key the table does not
    hold are inserted before the repeated keys are known, and the rows read are the file scan's row count
    in DuckDB's profile of the insert (``n_read`` is None); the rows inserted are then counted against their
    distinct keys, and only when a key was inserted twice are its rows found and taken out again for the
    merge path. Only when a row was not inserted or a stored row may hold a value to warn about does the
    values pass read the file again (``import_values``). Otherwise the
    keys were hashed and counted before (``import_keyhash``) and only the rows of unique new keys are inserted.
    """

    def run_sql(statement: str) -> list[tuple]:
        # built first: a statement adds the values it binds to the plan
        return rows(con, statement, plan.bindings())

    unmapped_from = "stream"
    if first:
        progress(0.3, f"Validating and writing the rows of {file_label}")
        run_sql(sql.held_keys_sql(plan))
        held = scalar(con, "select count(*) from import_held") > 0  # a new table holds none: nothing to exclude
        statement = sql.insert_first_sql(plan, held)
        ((inserted,),), profile = profiled_rows(con, statement, plan.bindings())
        n_read = _rows_scanned(profile)
        if n_read is None:  # no file scan in the profile (a DuckDB that profiles differently): count the rows
            n_read = scalar(con, f"select count(*) from ({raw_sql(plan.layout, numbered=False)})", plan.bindings())
        if n_read == 0:
            raise _no_rows(file_label)
        n_rows, n_keys, warned = run_sql(sql.new_keys_sql(plan, held))[0]
        unmapped_from = None
        if warned or n_read > inserted:
            # a value to warn about may be in the file (a row not inserted may hold any): the rows per value,
            # read from the same file with the same layout as the insert
            run_sql(sql.values_sql(plan))
            unmapped_from = "values"
            counted = scalar(con, "select coalesce(sum(n), 0) from import_values")
            if counted != n_read:
                raise RuntimeError(f"the values pass read {counted} rows, the insert {n_read}")  # a bug
        repeated = 0
        if n_rows != n_keys:  # some key was inserted twice: its rows go back out, to the merge path
            run_sql(sql.repeats_sql(plan, held))
            repeated = int(scalar(con, "select sum(n) from import_repeats"))
            run_sql(sql.unstream_repeats_sql(plan))
        streamed = inserted - repeated
        # rows not inserted failed a check or have a held key: those of held keys take the merge path
        run_sql(sql.first_candidates_sql(plan, repeats=bool(repeated), held=held and n_read > inserted))
        merging = bool(repeated) or n_read > inserted
    else:
        progress(0.3, f"Validating and writing {n_read:,} rows")
        run_sql(sql.candidates_sql(plan))
        merging = scalar(con, "select count(*) from import_candidates") > 0
        streamed = int(run_sql(sql.stream_insert_sql(plan))[0][0])
    _create(con, plan, sql.stream_merge_rows_sql(plan), merging)
    n_merging = scalar(con, "select count(*) from import_typed")
    expected_rejects = n_read - streamed - n_merging
    _create(con, plan, sql.stream_rejects_sql(plan), expected_rejects > 0)
    n_rejects = scalar(con, "select count(*) from import_rejects")
    if n_rejects != expected_rejects:
        raise RuntimeError(
            f"streamed import counts do not reconcile: {n_read} read, {streamed} streamed, "
            f"{n_merging} merging, {n_rejects} rejected"
        )  # a bug, never a user error
    execute(con, sql.GROUPS)
    has_groups = scalar(con, "select count(*) from import_groups") > 0
    if n_rejects or has_groups:
        run_sql(sql.breaks_sql(plan))
    if has_groups:
        run_sql(sql.merged_raw_sql(plan))
    if n_rejects:
        progress(0.7, f"Quarantining {n_rejects:,} rows")
        run_sql(sql.stream_quarantine_sql(plan, run_id, file_label))
    if n_merging:
        progress(0.8, "Merging duplicates")
        for statement in sql.merge_statements(plan, run_id, file_label, has_groups):
            run_sql(statement)
    (counts,) = rows(con, sql.STREAM_COUNTS, {"n_read": n_read, "n_streamed": streamed})
    counts = {name: int(value) for name, value in zip(sql.COUNT_NAMES, counts)}
    return _result(con, plan, run_id, file_label, started, counts, {}, None, unmapped_from)


def _write(
    con: duckdb.DuckDBPyConnection,
    plan: ImportPlan,
    run_id: str,
    file_label: str,
    progress: Progress,
    started: datetime,
    rechecked_run: tuple[str, datetime] | None = None,
) -> ImportResult:
    """In the transaction: quarantine (when rows failed), merge or sum (a ledger), write, record the run.

    ``rechecked_run`` (its id and start) makes this a recheck of that run's quarantined rows:
    failing rows keep their place in the quarantine with today's reasons instead of being
    quarantined again, and passing rows are marked resolved.
    """
    n_quarantined = scalar(con, "select n_read - n_valid from import_summary")
    ledger = bool(plan.source.ledger)
    has_groups = False
    if not ledger:
        execute(con, sql.GROUPS)
        has_groups = scalar(con, "select count(*) from import_groups") > 0
    if (n_quarantined and rechecked_run is None) or has_groups:
        # line numbers of quarantined and merged rows count the line breaks inside values before them
        execute(con, sql.breaks_sql(plan), plan.bindings())
    if has_groups:
        execute(con, sql.merged_raw_sql(plan), plan.bindings())
    if n_quarantined:
        progress(0.4, f"Quarantining {n_quarantined:,} rows")
        if rechecked_run is None:
            execute(con, sql.quarantine_sql(plan, run_id, file_label), plan.bindings())
        else:
            execute(con, sql.recheck_reasons_sql(plan), plan.bindings())
    progress(0.6, "Adding up the sheet's lines and writing" if ledger else "Merging duplicates and writing")
    money = {}
    if ledger and rechecked_run is None:
        money = _write_ledger(con, plan, run_id)
        (counts,) = rows(con, sql.LEDGER_COUNTS)
    elif ledger:
        money = _recheck_ledger(con, plan, rechecked_run[0])
        (counts,) = rows(con, sql.LEDGER_COUNTS)
    else:
        for statement in sql.merge_statements(plan, run_id, file_label, has_groups):
            execute(con, statement, plan.bindings())
        (counts,) = rows(con, sql.COUNTS)
    counts = {name: int(value) for name, value in zip(sql.COUNT_NAMES, counts)}
    if money.get("superseded_rows"):
        # superseded ledger lines pass the checks but stay in the quarantine: count them there
        counts["quarantined"] += money["superseded_rows"]
        counts["loaded"] -= money["superseded_new"]
        counts["updated"] -= money["superseded_rows"] - money["superseded_new"]
    if rechecked_run is not None:
        execute(con, "create temp table if not exists recheck_superseded (_rec bigint, superseded_by varchar)")
        execute(con, sql.recheck_resolved_sql(plan, run_id), plan.bindings())
    return _result(con, plan, run_id, file_label, started, counts, money, rechecked_run)


def _ambiguous_numbers(con: duckdb.DuckDBPyConnection, plan: ImportPlan, counted: bool = False) -> tuple[str, ...]:
    """A warning per number column with values like ``1.234``: one separator and three digits after
    it, which is a thousands separator in one locale and a decimal point in another.

    They are read as written (``1.234`` as 1.234, ``1,234`` as 1234, docs/import.md). ``1.234`` is
    always worth a warning (a European "1.234" means 1234); ``1,234`` only in a semicolon-separated
    file, the layout of the locales that write a decimal comma (elsewhere ``1,000`` is a thousand).
    The warning says how many rows and how to be sure. ``counted``: the values pass counted them
    (``import_values``, :func:`analytics.imports.sql.values_sql`); otherwise they are counted here, in a
    pass of their own.
    """
    columns = sql.ambiguous_columns(plan)
    if not columns:
        return ()
    if counted:
        select = ", ".join(f"sum(_amb_n_{c}), min(_amb_ex_{c})" for c in columns)
        found = rows(con, f"select {select} from import_values")[0]
    else:
        found = rows(con, sql.ambiguous_sql(plan), plan.bindings())[0]
    warnings = []
    for index, column in enumerate(columns):
        n, example = found[2 * index], found[2 * index + 1]
        if n:
            header = plan.headers_of.get(column, column)
            decimal = example.replace(",", ".").lstrip("+")
            whole = example.replace(",", "").replace(".", "").lstrip("+")
            read_as = decimal if "." in example else whole
            warnings.append(
                f'{header}: {n:,} {"row has" if n == 1 else "rows have"} a value like "{example}", which could mean '
                f"{decimal} or {whole}; read as {read_as} (docs/import.md). Write such numbers without a thousands "
                "separator to be sure."
            )
    return tuple(warnings)


def _result(
    con: duckdb.DuckDBPyConnection,
    plan: ImportPlan,
    run_id: str,
    file_label: str,
    started: datetime,
    counts: dict[str, int],
    money: dict,
    rechecked_run: tuple[str, datetime] | None,
    unmapped_from: str | None = "typed",
) -> ImportResult:
    """Check the counting identity, score, warn about the user's own values, record the run
    (``unmapped_from`` None: an insert-first import that met no value to warn about)."""
    if counts["read"] != counts["loaded"] + counts["updated"] + counts["merged"] + counts["quarantined"]:
        raise RuntimeError(f"import counts do not reconcile: {counts}")  # a bug, never a user error
    valid = counts["read"] - counts["quarantined"]
    scores = quality_score(
        counts["read"], counts["structure_ok"], counts["content_ok"], counts["business_ok"], counts["merged"], valid
    )
    warnings, new_labels = (), {}
    if unmapped_from is not None:
        warnings, new_labels = _open_values(con, plan, run_id, unmapped_from)
        warnings += _ambiguous_numbers(con, plan, counted=unmapped_from == "values")
    result = ImportResult(
        plan.source.name,
        file_label,
        plan.table,
        run_id,
        counts["read"],
        counts["loaded"],
        counts["updated"],
        counts["merged"],
        counts["quarantined"],
        counts["enriched"],
        *scores,
        tuple(plan.layout.headers[i] for i in plan.unmapped),
        warnings=warnings,
        amount_read=money.get("read"),
        amount_loaded=money.get("loaded"),
        amount_quarantined=money.get("quarantined"),
        amount_replaced=money.get("replaced"),
        kind="import" if rechecked_run is None else "recheck",
        rechecked_run_id=None if rechecked_run is None else rechecked_run[0],
        new_labels=new_labels,
    )
    _record_run(con, result, plan.source, plan.layout, started)
    return result


def _decimal(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _write_ledger(con: duckdb.DuckDBPyConnection, plan: ImportPlan, run_id: str) -> dict:
    """Sum the sheet's valid lines per key, replace the keys' totals, check the money; returns it."""
    execute(con, sql.ledger_sql(plan), plan.bindings())
    replaced = _decimal(scalar(con, sql.ledger_held_sql(plan)))
    for statement in sql.ledger_statements(plan, run_id):
        execute(con, statement, plan.bindings())
    read, loaded, quarantined = (_decimal(v) for v in rows(con, sql.ledger_money_sql(plan))[0])
    held = _decimal(scalar(con, sql.ledger_held_sql(plan)))
    _check_money(plan, read, loaded, quarantined, held, loaded)
    return {
        "read": float(read),
        "loaded": float(loaded),
        "quarantined": float(quarantined),
        "replaced": float(replaced),
    }


def _recheck_ledger(con: duckdb.DuckDBPyConnection, plan: ImportPlan, rechecked_run_id: str) -> dict:
    """The ledger rules of a recheck (:func:`analytics.imports.sql.recheck_ledger_sql`); returns the money."""
    for statement in sql.recheck_ledger_sql(plan):
        execute(con, statement, plan.bindings())
    replaced = _decimal(
        scalar(
            con,
            sql.ledger_held_sql(plan, "recheck_decision")
            + " and "
            + sql._key_expr(plan.source.key, "t")
            + " in (select _target from recheck_decision where decision = 'replace')",
        )
    )
    read, loaded, quarantined, kept = (_decimal(v) for v in rows(con, sql.recheck_ledger_money_sql(plan))[0])
    for statement in sql.ledger_statements(plan, rechecked_run_id, keys="recheck_ledger"):
        execute(con, statement, plan.bindings())
    held = _decimal(scalar(con, sql.ledger_held_sql(plan, "recheck_ledger")))
    _check_money(plan, read, loaded, quarantined, held, loaded + kept)
    superseded_rows, superseded_new = rows(
        con,
        """select count(*), count(*) filter (where t._match = 'new')
           from import_typed t where t._rec in (select _rec from recheck_superseded)""",
    )[0]
    return {
        "read": float(read),
        "loaded": float(loaded),
        "quarantined": float(quarantined),
        "replaced": float(replaced),
        "superseded_rows": int(superseded_rows),
        "superseded_new": int(superseded_new),
    }


def _check_money(
    plan: ImportPlan, read: Decimal, loaded: Decimal, quarantined: Decimal, held: Decimal, expected: Decimal
) -> None:
    """The ledger's identities, before commit: read = loaded + quarantined, and the warehouse holds what loaded."""
    if read != loaded + quarantined or abs(held - expected) > MONEY_TOLERANCE:
        raise RuntimeError(  # a bug, never a user error: the transaction rolls back
            f"the {plan.source.ledger[0]} of {plan.layout.name} does not reconcile: read {read}, loaded {loaded}, "
            f"quarantined {quarantined}, held for its keys {held} (expected {expected})"
        )


def _open_values(
    con: duckdb.DuckDBPyConnection, plan: ImportPlan, run_id: str, unmapped_from: str = "typed"
) -> tuple[tuple[str, ...], dict]:
    """Values of the user's own vocabulary (channels) that the mapping does not name, in the rows read:
    their labels are kept (``channel_labels``), and the summary warns, with the count and how to map them.

    ``unmapped_from``: ``typed`` (every row is in ``import_typed``), ``stream`` (the key pass counted
    every row's value in ``import_keyhash``) or ``values`` (the values pass did, in ``import_values``).
    """
    warnings, learned = [], {}
    for column in sql.open_columns(plan):
        found_in = f"select {column} as name, _unmapped_{column} as text, _rec as rank, 1 as n from import_typed"
        if unmapped_from == "stream":
            # the key pass grouped every row of the file by its value (:func:`analytics.imports.sql.key_hash_sql`)
            found_in = (
                f"select {vocabulary_name(f'_unmapped_{column}')} as name, _unmapped_{column} as text, 0 as rank, n "
                f"from import_keyhash where not _by_key"
            )
        elif unmapped_from == "values":
            # the pass before an insert-first import counted every row's value (:func:`analytics.imports.sql.values_sql`)
            found_in = (
                f"select {vocabulary_name(f'_unmapped_{column}')} as name, _unmapped_{column} as text, 0 as rank, n "
                f"from import_values"
            )
        values = f"(select * from ({found_in}) v where text is not null)"
        found = rows(con, f"select name, arg_min(text, rank), sum(n) from {values} group by 1 order by 3 desc, 1")
        if not found:
            continue
        kind = OPEN_VOCABULARIES[(plan.table, column)]
        execute(
            con,
            f"""insert into {kind}_labels ({kind}, label, source, first_run_id)
                select name, arg_min(text, rank), ?, ? from {values} group by 1
                on conflict do nothing""",
            [plan.source.name, run_id],
        )
        learned.update({name: text for name, text, _ in found})
        total = sum(int(n) for _, _, n in found)
        shown = ", ".join(f'"{text}" ({int(n):,} rows, as {name})' for name, text, n in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        where = f'"sources" > "{plan.source.name}" > "values" > "{column}" in {plan.source.mapping_file.name}'
        warnings.append(
            f"{total:,} rows have a {column} the mapping does not name: {shown}{more}; each is kept as its own "
            f"{column}. To count one as another {column}, add it under {where} "
            f'(e.g. "{found[0][1]}": "email") and import the file again.'
        )
    return tuple(warnings), learned


def _record_run(con, result: ImportResult, source: Source, layout: FileLayout, started: datetime) -> None:
    values = {
        "run_id": result.run_id,
        "source": result.source,
        "table_name": result.table,
        "file": result.file,
        "mapping": str(source.mapping_file),
        "started_at": started,
        "finished_at": datetime.now(UTC).replace(tzinfo=None),
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_updated": result.rows_updated,
        "rows_merged": result.rows_merged,
        "rows_quarantined": result.rows_quarantined,
        "rows_enriched": result.rows_enriched,
        "structure_score": result.structure_score,
        "content_score": result.content_score,
        "business_score": result.business_score,
        "quality_score": result.quality_score,
        "headers": json.dumps(list(layout.headers)),
        "unmapped": json.dumps(list(result.unmapped)),
        "kind": result.kind,
        "rechecked_run_id": result.rechecked_run_id,
        "validity_score": result.validity_score,
        "amount_read": result.amount_read,
        "amount_loaded": result.amount_loaded,
        "amount_quarantined": result.amount_quarantined,
        "amount_replaced": result.amount_replaced,
        "warnings": json.dumps(list(result.warnings)),
        "mapping_text": source.document,
    }
    execute(con, sql.RECORD_RUN, values)


# -- recheck ------------------------------------------------------------------------------------

RECHECK_RUNS = """
    select r.run_id, r.source, r.file, r.headers, r.mapping, r.mapping_text, r.started_at, count(*) as waiting
    from import_quarantine q
    join import_runs r using (run_id)
    where q.resolved_run_id is null and ($source is null or r.source = $source)
    group by r.run_id, r.source, r.file, r.headers, r.mapping, r.mapping_text, r.started_at
    order by r.started_at, r.run_id"""


def recheck(
    con: duckdb.DuckDBPyConnection, source_name: str | None = None, progress: Progress | None = None
) -> list[ImportResult]:
    """Check the quarantined rows again (of one source, or all), in one transaction; returns one result per
    import whose rows were rechecked (oldest import first).

    Each import's rows are mapped with the mapping it used (its text is kept with the run) and the
    headers of its file. Rows that pass now are loaded, as an import would load them, except that they
    never overwrite a value loaded since, and a cost line whose key a later sheet has set stays in the
    quarantine as superseded. The ledger records one recheck run per import rechecked
    (``kind = 'recheck'``, ``rechecked_run_id``), and the counts and money reconcile as for an import.
    """
    from analytics.imports.mapping import SOURCES

    progress = progress or (lambda fraction, message: None)
    if source_name is not None and source_name not in SOURCES:
        raise RevLensError(f"Unknown source {source_name!r}; use one of: {', '.join(SOURCES)}.")
    prepare(con)
    waiting = rows(con, RECHECK_RUNS, {"source": source_name})
    results: list[ImportResult] = []
    if not waiting:
        return results
    execute(con, "begin transaction")
    try:
        for number, (run_id, source, file, headers, mapping_path, mapping_text, started, n) in enumerate(waiting):
            progress(number / len(waiting), f"Rechecking {n:,} rows of {file}")
            plan_source = _source_of_run(source, mapping_path, mapping_text)
            plan = plan_import(plan_source, quarantine_layout(tuple(json.loads(headers)), file))
            plan.recheck = True
            bindings = {"recheck_run": run_id, "recheck_started": started}
            _drop_temp(con)
            execute(con, sql.recheck_rows_sql(), bindings)
            execute(con, sql.staged_sql(plan), {**plan.bindings(), **bindings})
            execute(con, sql.SUMMARY)
            plan.params.values.update(bindings)  # every later statement may bind the run
            results.append(
                _write(
                    con,
                    plan,
                    uuid.uuid4().hex,
                    file,
                    lambda f, m: None,
                    datetime.now(UTC).replace(tzinfo=None),
                    rechecked_run=(run_id, started),
                )
            )
        if any(r.rows_loaded or r.rows_updated or r.rows_merged for r in results):
            finish_load(con, f"recheck {source_name or 'all sources'}")
        execute(con, "commit")
    except BaseException:
        execute(con, "rollback")
        raise
    finally:
        _drop_temp(con)
        execute(con, "reset disabled_optimizers")
    progress(1.0, "Rechecked")
    return results


def _source_of_run(source: str, mapping_path: str | None, mapping_text: str | None) -> Source:
    """The mapping an import used: its kept text, else its file, else the source's default mapping."""
    if mapping_text:
        sources = load_mapping(mapping_path or f"{source}.json", mapping_text)
        if source in sources:
            return sources[source]
    if mapping_path and Path(mapping_path).is_file():
        return source_for(source, mapping_path)
    return source_for(source)


__all__ = ["ImportResult", "Progress", "import_file", "preview", "recheck"]
