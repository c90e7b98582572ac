"""Importing CRM and product exports into the warehouse: map, validate, enrich, merge, upsert, keep a ledger.

``import_file(con, source, path)`` imports one file in one transaction;
``import_files(db, source, paths)`` opens the warehouse for it. The package owns:

- :mod:`~analytics.imports.mapping`: the field mappings (``data/mappings/*.json``), sources, detection;
- :mod:`~analytics.imports.reading`: reading real-world files (CSV dialects, XLSX, Parquet, JSON lines);
- :mod:`~analytics.imports.values`: parsing text into dates, numbers, booleans, emails, domains (SQL);
- :mod:`~analytics.imports.plan`: which header feeds which column, checked before a row is read;
- :mod:`~analytics.imports.rules`: allowed values, business rules, free-mail domains, the quality score;
- :mod:`~analytics.imports.sql`: the typed, checked and merge SQL built from a plan;
- :mod:`~analytics.imports.pipeline`: the steps, the transaction and the counting identity;
- :mod:`~analytics.imports.ledger`: import runs, quarantined rows, the merge log, quality by table.
"""

from __future__ import annotations

import re
from pathlib import Path

from analytics.core.errors import RevLensError
from analytics.imports.ledger import import_history, merge_log, quality_by_table, quarantined_rows
from analytics.imports.mapping import MAPPINGS_DIR, SOURCES, MappingError, default_sources, detect_source, source_for
from analytics.imports.pipeline import ImportResult, Progress, import_file, preview
from analytics.imports.reading import FileReadError, describe_file
from analytics.imports.rules import quality_score
from analytics.warehouse.connection import connect

__all__ = [
    "MAPPINGS_DIR",
    "SOURCES",
    "FileReadError",
    "ImportResult",
    "MappingError",
    "default_sources",
    "describe_file",
    "detect_source",
    "import_file",
    "import_files",
    "import_history",
    "merge_log",
    "preview",
    "quality_by_table",
    "quality_score",
    "quarantined_rows",
    "source_for",
]


def import_files(
    db: str | Path,
    source: str,
    paths: list[str | Path],
    mapping: str | Path | None = None,
    progress: Progress | None = None,
    memory_limit: str | None = None,
    labels: list[str] | None = None,
) -> list[ImportResult]:
    """Import each file of ``paths`` as ``source`` into the warehouse at ``db`` (one transaction per file).

    ``labels`` name the files in the ledger (default: their paths; the app passes the
    uploaded file names). ``memory_limit`` (e.g. ``"1GB"``) caps DuckDB's memory for this connection; larger
    intermediate results spill to disk, so a 10-million-row file imports in bounded memory.
    """
    con = connect(db)
    try:
        if memory_limit:
            con.execute(f"set memory_limit = '{_checked_size(memory_limit)}'")
        results = []
        for i, path in enumerate(paths):

            def step(fraction: float, message: str, i=i) -> None:
                if progress:
                    progress((i + fraction) / len(paths), message)

            label = labels[i] if labels else None
            results.append(import_file(con, source, path, mapping, step, file_label=label))
        return results
    finally:
        con.close()


def _checked_size(size: str) -> str:
    """A memory size such as ``512MB`` or ``2GB`` (a setting cannot be bound, so it is checked)."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", size.strip(), flags=re.IGNORECASE):
        raise RevLensError(f"--memory-limit {size!r} is not a size; write it like 512MB or 2GB.")
    return size.strip()
