"""Connection helper: clear errors for bad files, a version stamp, one cursor per query across threads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest

from analytics.loads import finish_load
from analytics.warehouse.connection import Warehouse, WarehouseBusy, WarehouseError, connect
from analytics.warehouse.schema import create_schema


def test_missing_file_says_how_to_build_one(tmp_path):
    with pytest.raises(WarehouseError, match="No warehouse at .*python -m analytics demo"):
        Warehouse(tmp_path / "nothing.duckdb")


def test_not_a_duckdb_file(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("this is a text file, not a database\n" * 100)
    with pytest.raises(WarehouseError, match="not a DuckDB warehouse"):
        Warehouse(path)


def test_file_without_tables(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(WarehouseError, match="lacks the tables .*touchpoints"):
        Warehouse(path)


def test_a_file_a_writer_holds_is_busy_not_broken(tmp_path):
    path = tmp_path / "locked.duckdb"
    con = connect(path)
    create_schema(con)
    con.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep(30)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        wh = Warehouse(path)  # not an error: the app shows an "updating" notice until the write commits
        with pytest.raises(WarehouseBusy, match=rf"{path.name} is being written by process {holder.pid} \(python"):
            wh.meta()
    finally:
        holder.kill()
        holder.wait()


def test_version_changes_on_every_load(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    create_schema(con)
    first = finish_load(con, "test")
    second = finish_load(con, "test")
    con.close()
    assert first != second
    assert Warehouse(path).version() == second


def test_threads_share_the_warehouse_one_cursor_each(demo_db):
    wh = Warehouse(demo_db)

    def count(i: int) -> int:
        return wh.query("select count(*) as n from touchpoints where channel = ?", [["email", "direct"][i % 2]])["n"][0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(count, range(64)))
    expected = {c: wh.scalar("select count(*) from touchpoints where channel = ?", [c]) for c in ("email", "direct")}
    assert results == [expected[["email", "direct"][i % 2]] for i in range(64)]
