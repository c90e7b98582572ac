"""The Import page: upload, source detection, mapping preview, import, history, quarantine, quality."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.paths import FIXTURES


def frame(at, key: str):
    """The table the page draws in the container ``key`` (a display table has no key of its own)."""
    (table,) = at.get_by_key(key).dataframe
    return table.value


def upload(at, name: str, fixture: str) -> None:
    at.file_uploader(key="import_uploads").set_value((name, (FIXTURES / fixture).read_bytes(), "text/csv")).run()


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
    assert [t.value for t in at.title] == ["Import"]
    assert [info.value for info in at.info] == [
        "Nothing imported into this warehouse yet; the demo data has no import history."
    ]
    with pytest.raises(KeyError):
        at.get_by_key("import_history")  # no history table, no quarantine browser


def test_upload_detect_preview_import_and_browse_quarantine(page):
    at, db = page
    upload(at, "contacts.csv", "hubspot_contacts.csv")
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="source_0").value == "hubspot-contacts"  # detected from the headers
    mapping, sample = frame(at, "mapping_0"), frame(at, "sample_0")
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
    assert [status.label for status in at.status] == ["Import finished"]
    (result,) = frame(at, "import_results").to_dict("records")
    assert (result["rows_read"], result["rows_quarantined"], result["table"]) == (8, 4, "contacts")
    assert result["rows_read"] == (
        result["rows_loaded"] + result["rows_updated"] + result["rows_merged"] + result["rows_quarantined"]
    )
    quarantine = frame(at, "quarantine_rows")
    assert sorted(quarantine["line"]) == [4, 5, 6, 8]
    assert set(quarantine["file"]) == {"contacts.csv"}
    assert "Company Name is empty" in set(quarantine["reason"])
    merges = frame(at, "merge_log")
    assert (merges["record_id"][0], merges["merged_line"][0], merges["kept_line"][0]) == ("hs-106", 2, 7)
    quality = frame(at, "import_quality")
    assert quality["quality_score"].tolist() == [39.6] == [result["quality_score"]]


def test_source_is_confirmable_and_errors_are_clear(page):
    at, _ = page
    upload(at, "leads.csv", "hubspot_contacts.csv")
    at.selectbox(key="source_0").select("salesforce-leads").run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert 'no column "Id"' in error and "salesforce.json" in error
    with pytest.raises(KeyError):
        at.button(key="import_files")  # nothing importable, so no import button


def test_recheck_button_loads_rows_whose_campaign_arrived(page):
    from analytics.imports import import_files

    at, db = page
    (costs,) = import_files(db, "costs", [FIXTURES / "costs_salesforce_report.csv"], labels=["report.csv"])
    assert costs.rows_quarantined == 6  # no Salesforce campaign yet
    import_files(db, "salesforce-campaigns", [FIXTURES / "salesforce_campaigns_types.csv"])
    at.run()
    assert at.selectbox(key="recheck_source").options == ["Every source (6 rows)", "costs (6)"]
    at.selectbox(key="recheck_source").select("costs").run()
    at.button(key="recheck_quarantine").click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [
        "Rechecked 6 quarantined rows: 5 loaded, 1 still in quarantine with their reasons."
    ]
    quarantine = frame(at, "quarantine_rows")
    assert list(quarantine["line"]) == [7] and set(quarantine["file"]) == {"report.csv"}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from campaign_costs where campaign_id like 'sf-7015e000005%'").fetchall() == [
        (4,)
    ]
    con.close()
    assert [r for r in frame(at, "import_history")["kind"]].count("recheck") == 1


def test_import_shows_the_money_and_the_warnings(page):
    at, _ = page
    upload(at, "campaigns.csv", "salesforce_campaigns_types.csv")
    at.button(key="import_files").click().run(timeout=180)
    assert not at.exception and not at.error
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("campaigns.csv: 3 rows have a channel the mapping does not name")
    at.file_uploader(key="import_uploads").set_value(
        ("sheet.csv", (FIXTURES / "costs_salesforce_report.csv").read_bytes(), "text/csv")
    ).run()
    at.button(key="import_files").click().run(timeout=180)
    assert not at.exception and not at.error
    (result,) = frame(at, "import_results").to_dict("records")
    assert (result["amount_read"], result["amount_loaded"], result["amount_quarantined"]) == (1864.5, 1789.5, 75.0)


def test_an_empty_upload_is_refused_naming_the_upload(page):
    at, _ = page
    at.file_uploader(key="import_uploads").set_value(("nothing.csv", b"", "text/csv")).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("nothing.csv is empty (0 bytes)") and "revlens-uploads" not in error
