"""The Import page: upload, source detection, mapping preview, import, history, quarantine, quality."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.paths import FIXTURES


@pytest.fixture()
def page(app_test, demo_db, tmp_path, monkeypatch):
    """The Import page of the app on a writable copy of the demo warehouse."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, copy)
    monkeypatch.setenv("REVLENS_DB", str(copy))
    at = app_test()
    at.run()
    at.switch_page("pages/operations/imports.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at, copy


def test_page_without_imports_says_so(page):
    at, _ = page
    assert at.title[0].value == "Import"
    assert any("Nothing imported" in info.value for info in at.info)


def test_upload_detect_preview_import_and_browse_quarantine(page):
    at, db = page
    at.file_uploader[0].set_value(("contacts.csv", (FIXTURES / "hubspot_contacts.csv").read_bytes(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="source_0").value == "hubspot-contacts"  # detected from the headers
    mapping, sample = at.dataframe[0].value, at.dataframe[1].value
    assert dict(zip(mapping["column"], mapping["from"]))["email"] == "Email"
    assert list(sample["line"]) == [2, 3, 4, 5, 6]
    assert sample["quarantine_reason"][2] == "Company Name is empty"

    at.button(key="import_files").click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select rows_read, rows_quarantined, file from import_runs").fetchall() == [
        (8, 4, "contacts.csv")
    ]
    con.close()
    assert any(status.label == "Import finished" for status in at.status)
    frames = [d.value for d in at.dataframe]
    (quarantine,) = [f for f in frames if "reason" in f.columns]
    assert sorted(quarantine["line"]) == [4, 5, 6, 8]
    assert set(quarantine["file"]) == {"contacts.csv"}
    assert "Company Name is empty" in set(quarantine["reason"])
    (merges,) = [f for f in frames if "merged_line" in f.columns]
    assert (merges["record_id"][0], merges["merged_line"][0], merges["kept_line"][0]) == ("hs-106", 2, 7)
    (quality,) = [f for f in frames if "quality_score" in f.columns and "imports" in f.columns]
    assert quality["quality_score"].tolist() == [79.2]


def test_source_is_confirmable_and_errors_are_clear(page):
    at, _ = page
    at.file_uploader[0].set_value(("leads.csv", (FIXTURES / "hubspot_contacts.csv").read_bytes(), "text/csv")).run()
    at.selectbox(key="source_0").select("salesforce-leads").run()
    assert not at.exception
    assert 'no column "Id"' in at.error[0].value and "salesforce.json" in at.error[0].value
    assert not [b for b in at.button if b.key == "import_files"]  # nothing importable
