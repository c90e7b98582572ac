"""The warehouse as a lake: Parquet files Spark (or any engine) reads, one folder per table.

``python -m analytics export --format parquet --out DIR`` (:func:`export_parquet`) writes::

    DIR/revlens.json                  the manifest: warehouse version, each table's folder, rows, columns
    DIR/touchpoints/data_0.parquet    one folder per table, files of at most 256 MB (row groups of 122,880 rows)
    DIR/revlensjourney_deals/...      a table whose name starts with "_" (the derived tables, _meta)
                                      gets the prefix "revlens" (lake_name): Spark skips such names

Every table of the warehouse is written, the derived ones too (the journey tables, the health
history), with ``_meta`` and its version, so a Spark run reads the derived tables as the app
does (current when their version is the warehouse's). Rows keep the table's order (the journey
tables are sorted by close date, so a date window skips row groups in Parquet too).

A source for ``--engine spark --source`` is such a folder (local, or any URI Spark reads:
``s3a://``, ``abfss://``, ``gs://``, ``hdfs://``), or a prefix of tables in Spark's catalog
(``lake.revlens.`` reads ``lake.revlens.touchpoints``, ``lake.revlens.revlensjourney_deals``).
:func:`expected_columns` is RevLens's schema, which the Spark runner checks each table against.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analytics.core.errors import RevLensError

MANIFEST = "revlens.json"
FORMATS = ("parquet",)
FILE_SIZE = "256MB"
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def lake_name(table: str) -> str:
    """The folder (or catalog table) name of ``table``: ``_x`` becomes ``revlensx`` (Spark, like Hadoop,
    skips files and folders whose names start with ``_``)."""
    return f"revlens{table[1:]}" if table.startswith("_") else table


# --------------------------------------------------------------------------- export


def warehouse_tables(con) -> list[str]:
    """Every table of the warehouse's main schema, canonical and derived, sorted."""
    return [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main' and not temporary order by table_name"
        ).fetchall()
    ]


def _columns(con, table: str) -> list[tuple[str, str]]:
    return [
        (name, str(kind).lower())
        for name, kind in con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'main' and table_name = ? order by column_index",
            [table],
        ).fetchall()
    ]


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise RevLensError(f"{out} is a file; give --out a directory (new, or an earlier export to replace).")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise RevLensError(
            f"{out} is not empty and holds no RevLens export ({MANIFEST} is missing); "
            "choose a new or empty directory, so nothing there is overwritten."
        )


def export_parquet(con, out: str | Path, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Write every table of the warehouse ``con`` to ``out`` as Parquet (see the module docstring).

    Returns the manifest (also written to ``out/revlens.json``): ``version``, and per table its
    ``path`` (folder under ``out``), ``rows`` and ``columns`` (name, DuckDB type).
    """
    out = Path(out)
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = warehouse_tables(con)
    version = (
        con.execute("select max(value) from _meta where key = 'version'").fetchall()[0][0]
        if "_meta" in tables
        else None
    )
    manifest = {"format": "parquet", "revlens_export": 1, "version": version, "tables": {}}
    for number, table in enumerate(tables):
        if progress:
            progress(number, len(tables), table)
        columns = _columns(con, table)
        target = out / lake_name(table)
        if target.exists():
            shutil.rmtree(target)
        # JSON columns as text (every Parquet reader has strings); identifiers come from the catalog
        select = ", ".join(
            f'cast("{name}" as varchar) as "{name}"' if kind == "json" else f'"{name}"' for name, kind in columns
        )
        con.execute(
            f"copy (select {select} from \"{table}\") to '{target}' "
            f"(format parquet, file_size_bytes '{FILE_SIZE}', filename_pattern 'data_{{i}}')"
        )
        rows = con.execute(f'select count(*) from "{table}"').fetchall()[0][0]
        manifest["tables"][table] = {
            "path": lake_name(table),
            "rows": rows,
            "columns": [[name, "varchar" if kind == "json" else kind] for name, kind in columns],
        }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if progress:
        progress(len(tables), len(tables), "done")
    return manifest


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class LakeSource:
    """Where a Spark run reads the warehouse: a folder of :func:`export_parquet` (``kind="dir"``) or
    a prefix of catalog tables (``kind="prefix"``)."""

    kind: str
    location: str

    def table(self, table: str) -> str:
        """The path (``dir``) or catalog name (``prefix``) of ``table``."""
        name = lake_name(table)
        return f"{self.location.rstrip('/')}/{name}" if self.kind == "dir" else f"{self.location}{name}"

    def describe(self) -> str:
        return f"the folder {self.location}" if self.kind == "dir" else f"the tables {self.location}*"


def parse_source(text: str) -> LakeSource:
    """``DIR`` (a local folder, or a URI such as ``s3a://bucket/revlens``) or ``TABLE_PREFIX``."""
    text = text.strip()
    if not text:
        raise RevLensError("--source is empty; give an export folder (python -m analytics export) or a table prefix.")
    if _URI.match(text) and not re.match(r"^[A-Za-z]:[\\/]", text):
        return LakeSource("dir", text)
    path = Path(text).expanduser()
    if path.is_dir():
        return LakeSource("dir", str(path.resolve()))
    if "/" in text or text.startswith("."):
        raise RevLensError(
            f"The source folder {text} does not exist; write one with "
            f"`python -m analytics export --format parquet --out {text}`, or give a table prefix."
        )
    if not re.fullmatch(r"[A-Za-z0-9_.`]+", text):
        raise RevLensError(
            f"--source {text!r} is neither a folder nor a table prefix (letters, digits, _ and . only, "
            "e.g. lake.revlens.); check the spelling."
        )
    return LakeSource("prefix", text)


def read_manifest(source: LakeSource) -> dict | None:
    """The manifest of a local export folder, or None (a remote folder, a prefix, or none written)."""
    if source.kind != "dir" or _URI.match(source.location):
        return None
    path = Path(source.location) / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- RevLens's schema

# DuckDB's column types and the Spark types that hold the same values (Spark reads DuckDB's
# timestamps, which carry no time zone, as timestamp_ntz).
SPARK_TYPES = {
    "varchar": ("string",),
    "json": ("string",),
    "double": ("double",),
    "float": ("float", "double"),
    "integer": ("int", "bigint", "smallint", "tinyint"),
    "bigint": ("bigint", "int", "smallint", "tinyint"),
    "hugeint": ("decimal(38,0)",),
    "boolean": ("boolean",),
    "date": ("date",),
    "timestamp": ("timestamp_ntz", "timestamp"),
}


def expected_columns(table: str, manifest: dict | None = None) -> list[tuple[str, str]] | None:
    """RevLens's columns of ``table`` as ``(name, DuckDB type)``: from the DDL for a canonical table,
    from the export's manifest for a derived one; None when unknown."""
    from analytics.warehouse.schema import SCHEMA

    if table in SCHEMA:
        import sqlglot
        from sqlglot import exp

        ddl = sqlglot.parse_one(SCHEMA[table], read="duckdb")
        return [(column.name, column.args["kind"].sql("duckdb").lower()) for column in ddl.find_all(exp.ColumnDef)]
    if manifest and table in manifest.get("tables", {}):
        return [(name, kind) for name, kind in manifest["tables"][table]["columns"]]
    return None


def _duckdb_type(kind: str) -> str:
    kind = kind.lower()
    return {"text": "varchar", "int": "integer", "int64": "bigint", "int128": "hugeint", "bool": "boolean"}.get(
        kind, kind
    )


def schema_problem(table: str, actual: dict[str, str], expected: list[tuple[str, str]]) -> str | None:
    """What is wrong with a table whose Spark columns are ``actual`` (name -> simple type), or None."""
    lowered = {name.lower(): kind for name, kind in actual.items()}
    for name, kind in expected:
        duck = _duckdb_type(kind)
        found = lowered.get(name.lower())
        if found is None:
            return f"{table} has no column {name} ({duck}) that RevLens reads"
        allowed = SPARK_TYPES.get(duck)
        if allowed is not None and found.replace(" ", "") not in allowed:
            return f"{table}.{name} is {found} where RevLens needs {duck} ({' or '.join(allowed)} in Spark)"
    return None
