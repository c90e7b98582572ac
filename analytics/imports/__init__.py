"""Importing CRM and product exports into the warehouse: map, validate, enrich, merge, upsert, keep a ledger.

``import_file(con, source, path)`` imports one file in one transaction;
``import_files(db, source, paths)`` opens the warehouse for it, as a writer that waits for the
app to let go of the file (:func:`analytics.warehouse.connection.writing`);
``recheck_quarantine(db)`` checks the quarantined rows again. The package owns:

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
from analytics.imports.ledger import (
    channel_labels,
    import_history,
    merge_log,
    quality_by_table,
    quarantine_counts,
    quarantined_rows,
)
from analytics.imports.mapping import MAPPINGS_DIR, SOURCES, MappingError, default_sources, detect_source, source_for
from analytics.imports.pipeline import ImportResult, Progress, import_file, preview, recheck
from analytics.imports.reading import FileReadError, describe_file
from analytics.imports.rules import quality_score
from analytics.warehouse.connection import OnWait, writing

__all__ = [
    "MAPPINGS_DIR",
    "SOURCES",
    "FileReadError",
    "ImportResult",
    "MappingError",
    "channel_labels",
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
    "quarantine_counts",
    "quarantined_rows",
    "recheck_quarantine",
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
    wait: float | None = None,
    on_wait: OnWait | None = None,
) -> list[ImportResult]:
    """Import each file of ``paths`` as ``source`` into the warehouse at ``db`` (one transaction per file).

    ``labels`` name the files in the ledger and in every message (default: their paths; the app
    passes the uploaded file names). ``memory_limit`` (e.g. ``"1GB"``) caps DuckDB's memory for this
    connection; larger intermediate results spill to disk, so a 10-million-row file imports in
    bounded memory. The warehouse is opened as a writer (:func:`~analytics.warehouse.connection.writing`):
    while the app or another reader has it open, the import waits up to ``wait`` seconds (default
    ``REVLENS_WRITE_WAIT`` or 60), telling ``on_wait`` once. A file that is not there is refused
    before the warehouse is touched.
    """
    names = [labels[i] if labels else str(path) for i, path in enumerate(paths)]
    for path, name in zip(paths, names):
        if not Path(path).is_file():
            raise FileReadError(f"No file {name}: nothing is there; check the path and the file name.")
    if memory_limit:
        _checked_size(memory_limit)
    what = names[0] if len(names) == 1 else f"{len(names)} files"
    with writing(db, wait=wait, on_wait=on_wait, purpose=f"an import of {Path(what).name}") as con:
        if memory_limit:
            con.execute(f"set memory_limit = '{_checked_size(memory_limit)}'")
        results = []
        for i, path in enumerate(paths):

            def step(fraction: float, message: str, i=i) -> None:
                if progress:
                    progress((i + fraction) / len(paths), message)

            results.append(import_file(con, source, path, mapping, step, file_label=names[i]))
        return results


def recheck_quarantine(
    db: str | Path,
    source: str | None = None,
    progress: Progress | None = None,
    wait: float | None = None,
    on_wait: OnWait | None = None,
) -> list[ImportResult]:
    """Check the quarantined rows of ``source`` (default: every source) again; load those that pass now.

    One result per import whose rows were rechecked (see :func:`analytics.imports.pipeline.recheck`);
    the warehouse is opened as :func:`import_files` opens it.
    """
    if not Path(db).exists():
        raise FileReadError(f"No warehouse at {db}; there is no quarantine to recheck.")
    with writing(db, wait=wait, on_wait=on_wait, purpose="a recheck of the quarantine") as con:
        return recheck(con, source, progress)


def _checked_size(size: str) -> str:
    """A memory size such as ``512MB`` or ``2GB`` (a setting cannot be bound, so it is checked)."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", size.strip(), flags=re.IGNORECASE):
        raise RevLensError(f"--memory-limit {size!r} is not a size; write it like 512MB or 2GB.")
    return size.strip()
