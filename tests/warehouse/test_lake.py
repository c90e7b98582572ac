"""The lake export (``python -m analytics export``), sources, RevLens's schema check and the engine flags
(no Spark needed: the Spark runs are in test_spark.py)."""

from __future__ import annotations

import json

import duckdb
import pytest

from analytics.core.errors import RevLensError
from analytics.warehouse.lake import MANIFEST, expected_columns, lake_name, parse_source, schema_problem


def _cli(capsys, *args) -> tuple[int, str, str]:
    from analytics.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


@pytest.fixture(scope="module")
def exported(demo_db, tmp_path_factory):
    from analytics.warehouse.connection import connect
    from analytics.warehouse.lake import export_parquet

    out = tmp_path_factory.mktemp("lake") / "revlens"
    con = connect(demo_db, read_only=True)
    try:
        export_parquet(con, out)
    finally:
        con.close()
    return out


def test_the_export_writes_every_table_with_its_rows_and_no_underscore_names(demo_db, exported):
    manifest = json.loads((exported / MANIFEST).read_text())
    con = duckdb.connect(demo_db, read_only=True)
    tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()]
    assert set(manifest["tables"]) == set(tables) and "_journey_touches" in tables and "touchpoints" in tables
    for table, entry in manifest["tables"].items():
        folder = exported / entry["path"]
        assert folder.name == lake_name(table) and not folder.name.startswith("_")
        files = list(folder.glob("*.parquet"))
        assert files and not any(f.name.startswith(("_", ".")) for f in files)
        rows = duckdb.sql(f"select count(*) from read_parquet('{folder}/*.parquet')").fetchall()[0][0]
        assert rows == entry["rows"] == con.execute(f'select count(*) from "{table}"').fetchall()[0][0]
    version = con.execute("select max(value) from _meta where key = 'version'").fetchall()[0][0]
    assert manifest["version"] == version
    con.close()


def test_the_export_cli_reports_and_refuses_a_folder_it_would_overwrite(demo_db, tmp_path, capsys):
    code, _, err = _cli(capsys, "export", "--format", "parquet", "--out", str(tmp_path / "lake"), "--db", demo_db)
    assert code == 0 and "--engine spark --source" in err
    assert (tmp_path / "lake" / MANIFEST).exists()
    code, _, _ = _cli(capsys, "export", "--out", str(tmp_path / "lake"), "--db", demo_db)  # replacing an export
    assert code == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    code, _, err = _cli(capsys, "export", "--out", str(tmp_path / "other"), "--db", demo_db)
    assert code == 2 and "holds no RevLens export" in err and (tmp_path / "other" / "notes.txt").exists()


def test_sources_are_folders_uris_or_table_prefixes(tmp_path):
    assert parse_source(str(tmp_path)).kind == "dir"
    assert parse_source("s3a://bucket/revlens").table("_journey_deals") == "s3a://bucket/revlens/revlensjourney_deals"
    assert parse_source("lake.revlens.").table("touchpoints") == "lake.revlens.touchpoints"
    with pytest.raises(RevLensError, match="does not exist.*python -m analytics export"):
        parse_source(str(tmp_path / "missing"))
    with pytest.raises(RevLensError, match="neither a folder nor a table prefix"):
        parse_source("lake revlens")


def test_the_schema_check_names_the_column_and_the_type():
    expected = expected_columns("opportunities")
    assert ("amount", "double") in expected
    spark_types = {"text": "string", "varchar": "string", "json": "string", "integer": "int"}
    actual = {name: spark_types.get(kind, kind) for name, kind in expected}
    actual = {name: ("timestamp_ntz" if kind == "timestamp" else kind) for name, kind in actual.items()}
    assert schema_problem("opportunities", actual, expected) is None
    assert "opportunities.amount is string where RevLens needs double" in schema_problem(
        "opportunities", {**actual, "amount": "string"}, expected
    )
    missing = {k: v for k, v in actual.items() if k != "close_date"}
    assert "opportunities has no column close_date" in schema_problem("opportunities", missing, expected)


@pytest.mark.parametrize(
    "args, message",
    [
        (("--source", "lake/"), "--source go with --engine spark"),
        (("--engine", "spark"), "--engine spark needs --source"),
        (("--engine", "spark", "--source", "lake.x.", "--db", "w.duckdb"), "--db is DuckDB's file"),
        (("--engine", "spark", "--source", "lake.x.", "--spark-conf", "novalue"), "is not key=value"),
        (
            ("--engine", "spark", "--source", "lake.x.", "--spark-remote", "http://h:1"),
            "is not a Spark Connect URL",
        ),
    ],
)
def test_engine_flags_that_do_not_fit_get_a_sentence(capsys, args, message):
    code, _, err = _cli(capsys, "health", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_path_file_is_not_sent_to_spark(capsys, tmp_path):
    paths = tmp_path / "paths.csv"
    paths.write_text("path,conversions\nemail > paid_search,1\n")
    code, _, err = _cli(
        capsys, "attribution", "--model", "linear", "--paths", str(paths), "--engine", "spark", "--source", "x."
    )
    assert code == 2 and "attributed in-process" in err
