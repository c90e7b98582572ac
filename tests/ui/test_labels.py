"""No raw identifier in what any page shows: every page of NAVIGATION, on the demo warehouse, scanned by
``tests/ui/scan.py`` (markdown, metric labels, widget options, chart titles and categories, table headers and cells)
against the vocabulary's machine names and the warehouse's ids."""

from __future__ import annotations

import duckdb
import pytest

from pages.components.navigation import NAVIGATION
from tests.ui.scan import raw_identifiers, visible_texts

PAGES = [path for pages in NAVIGATION.values() for path, _, _ in pages]


@pytest.fixture(scope="module")
def warehouse_ids(demo_db) -> set[str]:
    con = duckdb.connect(demo_db, read_only=True)
    try:
        return {
            row[0]
            for table, column in ID_COLUMNS
            for row in con.execute(f"select {column} from {table}").fetchall()  # fixed identifiers only
        }
    finally:
        con.close()


ID_COLUMNS = (
    ("campaigns", "campaign_id"),
    ("accounts", "account_id"),
    ("contacts", "contact_id"),
    ("sales_reps", "rep_id"),
    ("opportunities", "opportunity_id"),
)


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_identifier_on_the_page(app_test, page, warehouse_ids):
    at = app_test()
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = visible_texts(at)
    assert [text for where, text in texts if where == "title"]  # the scanner read the page
    if page == "pages/help/about.py":  # the documentation itself names the CLI's options (`--model first_touch`)
        docs = visible_texts(at.get_by_key("about_doc"))
        assert docs
        texts = [t for t in texts if t not in docs]
    assert raw_identifiers(texts, known_ids=warehouse_ids) == []


def test_the_scanner_finds_what_it_must():
    """The scanner is not blind: it flags a machine name, an id, a bare None and a legend True/False."""
    texts = [
        ("selectbox option", "first_touch"),
        ("markdown", "Campaign CMP006 did best"),
        ("table cell (Owner)", "None"),
        ("chart legend", "True"),
        ("markdown", "Credit by organic_search"),
    ]
    assert raw_identifiers(texts) == texts
    fine = [("markdown", "First touch"), ("table cell (Campaign ID)", "x"), ("markdown", "run `python -m analytics`")]
    assert raw_identifiers(fine) == []
    unknown = [("warning", "40 usage events name accounts the warehouse does not have (ACC9999999)")]
    assert raw_identifiers(unknown, known_ids={"ACC0000001"}) == [] and raw_identifiers(unknown) == unknown
