"""``python -m analytics import``: JSON per file, exit statuses, clear errors, version bump."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from tests.paths import FIXTURES, ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_json_output_one_object_per_file_and_exit_0_with_quarantined_rows(tmp_path):
    db = tmp_path / "w.duckdb"
    result = run(
        "import",
        "hubspot-contacts",
        str(FIXTURES / "hubspot_contacts.csv"),
        str(FIXTURES / "hubspot_contacts.csv"),
        "--db",
        str(db),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [set(line) for line in lines] == [
        {
            "source",
            "file",
            "rows_read",
            "rows_loaded",
            "rows_updated",
            "rows_merged",
            "rows_quarantined",
            "quality_score",
        }
    ] * 2
    first, second = lines
    assert (
        first["rows_read"],
        first["rows_loaded"],
        first["rows_merged"],
        first["rows_quarantined"],
        first["quality_score"],
    ) == (8, 3, 1, 4, 39.6)
    # the same file again: every record found by its key, nothing new
    assert (second["rows_read"], second["rows_loaded"], second["rows_updated"], second["rows_quarantined"]) == (
        8,
        0,
        3,
        4,
    )


def test_summary_output_and_version_bump(tmp_path):
    db = tmp_path / "w.duckdb"
    run("import", "hubspot-companies", str(FIXTURES / "hubspot_companies.csv"), "--db", str(db))
    con = duckdb.connect(str(db), read_only=True)
    version = con.execute("select value from _meta where key = 'version'").fetchall()
    con.close()
    result = run("import", "touchpoints", str(FIXTURES / "touchpoints.csv"), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "read 6 rows -> loaded 3, updated 0, merged 1, quarantined 2" in result.stdout
    assert "kept unmapped columns as extra: utm_medium" in result.stdout
    # a channel the mapping does not name is kept as its own, and the summary says how to map it
    assert (
        'warning: 1 rows have a channel the mapping does not name: "carrier_pigeon" (1 rows, as carrier_pigeon)'
        in result.stdout
    )
    assert '"sources" > "touchpoints" > "values" > "channel" in platform.json' in result.stdout
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select value from _meta where key = 'version'").fetchall() != version
    assert con.execute("select value from _meta where key = 'last_load'").fetchall() == [
        ("import touchpoints touchpoints.csv",)
    ]


def test_unreadable_file_exits_2_with_one_sentence(tmp_path):
    result = run("import", "touchpoints", str(FIXTURES / "too_many_fields.csv"), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "line 3 has more fields" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_column_and_unknown_source_exit_2(tmp_path):
    db = str(tmp_path / "w.duckdb")
    result = run("import", "hubspot-contacts", str(FIXTURES / "hubspot_contacts_no_email.csv"), "--db", db)
    assert result.returncode == 2 and '"columns" > "email"' in result.stderr
    result = run("import", "marketo-leads", str(FIXTURES / "hubspot_contacts.csv"), "--db", db)
    assert result.returncode == 2 and "Unknown source 'marketo-leads'" in result.stderr


def test_mapping_option(tmp_path):
    mapping = json.loads((ROOT / "data/mappings/platform.json").read_text())
    mapping["sources"]["touchpoints"]["columns"]["ts"] = "when"
    custom = tmp_path / "platform.json"
    custom.write_text(json.dumps(mapping))
    data = tmp_path / "tp.csv"
    data.write_text("touchpoint_id,contact_id,channel,when\nTP-1,C-1,email,2024-01-01\n")
    result = run(
        "import", "touchpoints", str(data), "--db", str(tmp_path / "w.duckdb"), "--mapping", str(custom), "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows_loaded"] == 1


def test_files_before_an_unreadable_one_stay_imported_and_reported(tmp_path):
    db = tmp_path / "w.duckdb"
    result = run(
        "import",
        "touchpoints",
        str(FIXTURES / "touchpoints.csv"),
        str(FIXTURES / "too_many_fields.csv"),
        "--db",
        str(db),
        "--json",
    )
    assert result.returncode == 2 and "line 3 has more fields" in result.stderr
    assert json.loads(result.stdout.splitlines()[0])["rows_read"] == 6
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from import_runs").fetchall() == [(1,)]
