"""The pages on hostile input (issue 13): every page renders on a warehouse with NaN, ±inf, 1e30 and
year-9999 values typed in by hand and formula/markup names; a CR-only upload imports; an upload's copy
is deleted after its import; user text reaches markdown escaped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pages.components.navigation import NAVIGATION
from tests.hostile.conftest import hostile_db  # noqa: F401  (the fixture)

PAGES = [path for pages in NAVIGATION.values() for path, _, _ in pages]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_hostile_warehouse(app_test, hostile_db, monkeypatch, page):  # noqa: F811
    monkeypatch.setenv("REVLENS_DB", hostile_db)
    at = app_test()
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = " ".join(str(m.value) for m in at.markdown) + " ".join(str(m.value) for m in at.metric)
    assert "nan" not in shown.replace("nant", "").lower().split() and "$inf" not in shown.lower()


def test_a_cr_only_upload_imports_and_its_copy_is_deleted(app_test, demo_db, tmp_path, monkeypatch):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, copy)
    monkeypatch.setenv("REVLENS_DB", str(copy))
    at = app_test()
    at.run()
    at.switch_page("pages/operations/imports.py").run()
    data = (
        "Record ID,First Name,Last Name,Email,Company Name\r"
        "701,Ana,Lee,ana@acme.com,Acme\r702,Bo,[x](http://evil.example),bo@beta.io,Beta\r"
    ).encode("cp1252")
    name = "**mac** [export](http://evil.example).csv"
    at.file_uploader(key="import_uploads").set_value((name, data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(r"\*\*mac\*\* \[export\](http://evil.example).csv" in m.value for m in at.markdown)
    saved = [p for p in Path("/tmp").glob("revlens-uploads-*/*/*") if p.name == Path(name).name]
    assert saved, "the upload is on disk while it is previewed"
    at.button(key="import_files").click().run(timeout=180)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not any(p.exists() for p in saved)  # deleted after its import
    at.run()  # the next run shows the upload as imported and does not save it again
    assert any("Imported" in c.value for c in at.caption)
    assert not any(p.exists() for p in saved)
    import duckdb

    con = duckdb.connect(str(copy), read_only=True)
    try:
        assert con.execute(
            "select last_name from contacts where hubspot_id in ('701', '702') order by 1"
        ).fetchall() == [
            ("Lee",),
            ("[x](http://evil.example)",),
        ]
    finally:
        con.close()
