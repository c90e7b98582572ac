"""Pages while a writer has the warehouse: cached results, a short "updating" notice, never an error;
the new data once the write has committed."""

from __future__ import annotations

import shutil

import pytest

from analytics.core.labels import label
from analytics.loads import finish_load
from analytics.warehouse.connection import writing


def frame(at, key: str):
    (table,) = at.get_by_key(key).dataframe
    return table.value


def notices(at) -> list[str]:
    return [info.value for info in at.info]


@pytest.fixture()
def fresh(app_test, demo_db, tmp_path, monkeypatch):
    """The app on a copy of the demo warehouse with a version of its own (no other test has cached it)."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, copy)
    with writing(copy) as con:
        finish_load(con, "a copy for this test")
    monkeypatch.setenv("REVLENS_DB", str(copy))
    return app_test, copy


def test_a_page_answers_from_its_cache_during_a_write_and_shows_the_new_data_after(fresh):
    app_test, db = fresh
    at = app_test()
    at.run()
    at.switch_page("pages/operations/data.py").run()
    rows_before = dict(zip(frame(at, "data_summary")["table"], frame(at, "data_summary")["rows"]))
    with writing(db, wait=30, purpose="an import of campaigns.csv") as con:
        con.execute("insert into campaigns (campaign_id, name, channel) values ('NEW-1', 'New one', 'email_nurture')")
        finish_load(con, "import test")
        at.run()  # the user reloads while the import writes
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert any(n.startswith("Updating: an import of campaigns.csv, PID") for n in notices(at)), notices(at)
        shown = dict(zip(frame(at, "data_summary")["table"], frame(at, "data_summary")["rows"]))
        assert shown == rows_before  # the data as it was
    at.run()  # committed: the next run shows it
    assert not at.exception and not at.error
    assert notices(at) == []
    shown = dict(zip(frame(at, "data_summary")["table"], frame(at, "data_summary")["rows"]))
    campaigns = label("table", "campaigns")  # the Data page shows tables by their labels
    assert shown[campaigns] == rows_before[campaigns] + 1


def test_what_is_not_cached_yet_says_updating_never_an_error(fresh):
    app_test, db = fresh
    at = app_test()
    at.run()  # the Overview is cached; the ROI page is not
    with writing(db, wait=30, purpose="a HubSpot sync"):
        at.switch_page("pages/finance/roi.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert len(notices(at)) == 1 and "a HubSpot sync" in notices(at)[0]
    at.run()
    assert not at.exception and not at.error and notices(at) == []
    assert any("ROI" in t.value for t in at.title)


def test_the_first_visit_during_a_write_waits_with_a_notice(fresh):
    app_test, db = fresh
    with writing(db, wait=30, purpose="a refresh of the derived tables"):
        at = app_test()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert any("a refresh of the derived tables" in n for n in notices(at)), notices(at)
    at.run()
    assert not at.exception and not at.error and len(at.get_by_key("overview_kpis").metric) == 5
