"""What the import tests share: a warehouse path of the test's own, an import that must reconcile, a read-only query."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from analytics.imports import import_files


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


def run_import(db, source: str, path: Path, mapping: Path | None = None):
    """Import one file; its counts must reconcile (read = loaded + updated + merged + quarantined)."""
    (result,) = import_files(db, source, [path], mapping)
    assert result.rows_read == result.rows_loaded + result.rows_updated + result.rows_merged + result.rows_quarantined
    return result


def query(db, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
