"""Every page renders on the demo warehouse (AppTest), filters change numbers, bad files give clear errors."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest  # noqa: F401  (type of the fixture's apps)

from pages.components.navigation import page_paths


@pytest.fixture()
def app(app_test):
    return app_test()


@pytest.mark.parametrize("page", page_paths())
def test_every_page_renders_without_exceptions(app, page):
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title, f"{page} has no title"


def _kpis(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_kpis_follow_the_filters(app):
    app.run()
    everything = _kpis(app)
    assert set(everything) == {"Open pipeline", "Won revenue", "Marketing spend", "Active accounts", "ARR"}
    app.multiselect(key="f_segments").select("Enterprise").run()
    assert not app.exception
    enterprise = _kpis(app)
    assert enterprise["Won revenue"] != everything["Won revenue"]
    assert enterprise["Marketing spend"] == everything["Marketing spend"]  # spend has no segment
    assert app.query_params["segment"] == "Enterprise"


def test_filters_come_from_the_url(app):
    app.query_params["from"] = "2026-01-01"
    app.query_params["to"] = "2026-03-31"
    app.query_params["channel"] = "webinar,email"
    app.run()
    assert not app.exception
    assert app.session_state["f_dates"] == (date(2026, 1, 1), date(2026, 3, 31))
    assert app.session_state["f_channels"] == ["webinar", "email"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"hello, I am a text file\n" * 50, "not a DuckDB warehouse"),
        (None, "lacks the tables"),
    ],
)
def test_bad_warehouse_file_gives_a_clear_error(app_test, tmp_path, monkeypatch, content, message):
    import duckdb

    path = tmp_path / "bad.duckdb"
    if content is None:
        duckdb.connect(str(path)).close()
    else:
        path.write_bytes(content)
    monkeypatch.setenv("REVLENS_DB", str(path))
    at = app_test().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_missing_custom_path_is_not_silently_created(app_test, tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_DB", str(tmp_path / "missing.duckdb"))
    at = app_test().run()
    assert any("No warehouse at" in e.value for e in at.error)
    assert not (tmp_path / "missing.duckdb").exists()


def test_filters_survive_a_visit_to_an_unfiltered_page(app):
    app.run()
    app.multiselect(key="f_segments").select("SMB").run()
    smb = _kpis(app)
    app.switch_page("pages/operations/data.py").run()
    assert not app.exception, [e.value for e in app.exception]
    app.switch_page("pages/marketing/overview.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.multiselect(key="f_segments").value == ["SMB"]
    assert _kpis(app) == smb


def test_first_start_builds_the_demo_warehouse(app_test, tmp_path, monkeypatch):
    """A fresh checkout: no REVLENS_DB, no data/warehouse.duckdb -> the app builds the demo, then shows it."""
    monkeypatch.delenv("REVLENS_DB")
    monkeypatch.chdir(tmp_path)
    at = app_test()
    at.default_timeout = 300
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert (tmp_path / "data" / "warehouse.duckdb").exists()
    assert [s.label for s in at.status] == ["Demo warehouse ready"]
    assert len(at.metric) == 5
