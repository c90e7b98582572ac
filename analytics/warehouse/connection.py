"""Opening the warehouse: read-only for the app, read-write for loads; clear errors for the user.

The app opens the file read-only and takes one cursor per query (:meth:`Warehouse.query`):
DuckDB 2.x raises ``ResourceInUseException`` when threads share one connection object.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from analytics.core.errors import RevLensError
from analytics.warehouse import runner
from analytics.warehouse.schema import missing_tables


class WarehouseError(RevLensError):
    """A problem with the warehouse file that the user can fix; the message says how."""


def _explain(path: Path, exc: Exception) -> WarehouseError:
    text = str(exc)
    if "lock" in text.lower():
        return WarehouseError(
            f"The warehouse {path} is locked by another process (a running import or demo build, or, "
            "for a write, the RevLens app, which keeps it open); wait for that process to finish or stop it, "
            "or import from the app's Import page, then retry."
        )
    if "not a valid DuckDB database" in text or "Unknown file format" in text or "invalid" in text.lower():
        return WarehouseError(
            f"{path} is not a DuckDB warehouse; point REVLENS_DB at a .duckdb file, "
            "or build one with `python -m analytics demo --db PATH`."
        )
    return WarehouseError(f"Cannot open the warehouse {path}: {text.splitlines()[0]}")


def _is_duckdb_file(path: Path) -> bool:
    """DuckDB's header: the magic ``DUCK`` at byte 8 (DuckDB opens some other names, e.g. ``x.csv``, as
    an in-memory database with the file attached, which would give a baffling error later)."""
    try:
        with path.open("rb") as file:
            return file.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a user-fixable failure becomes a :class:`WarehouseError`."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise WarehouseError(
            f"{path} is not a regular file (a folder, device or pipe); point --db or REVLENS_DB at a .duckdb file."
        )
    if path.is_file() and (read_only or path.stat().st_size) and not _is_duckdb_file(path):
        raise WarehouseError(
            f"{path} is not a DuckDB warehouse (a CSV or other file?); point --db or REVLENS_DB at a .duckdb file, "
            "or build one with `python -m analytics demo --db PATH`."
        )
    if read_only and not path.exists():
        raise WarehouseError(
            f"No warehouse at {path}; build the demo with `python -m analytics demo --db {path}` "
            "or set REVLENS_DB to an existing .duckdb file."
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _explain(path, exc) from None


class Warehouse:
    """A read-only warehouse for the app: one connection, one cursor per query.

    Parameters
    ----------
    path : path of the DuckDB file.

    Raises
    ------
    WarehouseError
        When the file is missing, not DuckDB, locked by a writer, or lacks tables.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._con = connect(self.path, read_only=True)
        self._lock = threading.Lock()
        missing = missing_tables(self._con)
        if missing:
            self._con.close()
            raise WarehouseError(
                f"The warehouse {self.path} lacks the tables {', '.join(missing)}; "
                "rebuild it with `python -m analytics demo --db PATH` or import your exports "
                "with `python -m analytics import`."
            )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        # Creating a cursor touches the shared connection; serialize just that step.
        with self._lock:
            return self._con.cursor()

    def query(self, sql: str, params: runner.Params = None):
        """Run one query on its own cursor and return a polars frame."""
        cur = self.cursor()
        try:
            return runner.run(cur, sql, params)
        finally:
            cur.close()

    def scalar(self, sql: str, params: runner.Params = None):
        cur = self.cursor()
        try:
            return runner.scalar(cur, sql, params)
        finally:
            cur.close()

    def version(self) -> str:
        return self.scalar("select value from _meta where key = 'version'") or "unversioned"

    def meta(self) -> dict[str, str]:
        return dict(self.query("select key, value from _meta").iter_rows())

    def close(self) -> None:
        self._con.close()
