"""Every page renders on the demo warehouse (AppTest), filters change numbers, bad files give clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analytics.core.money import money
from analytics.core.numbers import count, signed_percent
from analytics.overview import kpis as overview
from pages.components.navigation import NAVIGATION
from tests.paths import APP, ROOT

PAGES = [(path, title) for pages in NAVIGATION.values() for path, title, _ in pages]


@pytest.fixture()
def app(app_test):
    return app_test()


@pytest.mark.parametrize("page, title", PAGES)
def test_every_page_renders_without_exceptions(app, page, title):
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    (heading,) = [t.value for t in app.title]  # one title, and it names the page of the menu
    assert title in heading, (title, heading)


def _kpis(at: AppTest) -> dict[str, tuple[str, str]]:
    """The Overview's tiles: label -> (value, delta) as drawn."""
    return {m.label: (m.value, m.delta) for m in at.get_by_key("overview_kpis").metric}


def _expected_kpis(db: str, at: AppTest, segments=(), channels=()) -> dict[str, tuple[str, str]]:
    """The tiles as the Overview should draw them: the analytics' own numbers for the app's date filter."""
    start, end = at.session_state["f_dates"]
    con = duckdb.connect(db, read_only=True)
    try:
        k = overview.kpis(con, start, end, segments=tuple(segments), channels=tuple(channels))
    finally:
        con.close()
    formats = {
        "Open pipeline": ("open_pipeline", money),
        "Won revenue": ("won_revenue", money),
        "Marketing spend": ("marketing_spend", money),
        "Active accounts": ("active_accounts", count),
        "ARR": ("arr", money),
    }
    return {
        label: (fmt(k[name].current), signed_percent(k[name].delta_pct) or "") for label, (name, fmt) in formats.items()
    }


def test_overview_kpis_follow_the_filters(app, demo_db):
    app.run()
    everything = _kpis(app)
    assert everything == _expected_kpis(demo_db, app)
    app.multiselect(key="f_segments").select("Enterprise").run()
    assert not app.exception
    enterprise = _kpis(app)
    assert enterprise == _expected_kpis(demo_db, app, segments=["Enterprise"])
    assert enterprise["Won revenue"] != everything["Won revenue"]  # the filter matters on the demo
    assert enterprise["Marketing spend"] == everything["Marketing spend"]  # spend has no segment
    assert app.query_params["segment"] == "Enterprise"


def test_filters_come_from_the_url(app, demo_db):
    app.query_params["from"] = "2026-01-01"
    app.query_params["to"] = "2026-03-31"
    app.query_params["channel"] = "webinar,email"
    app.run()
    assert not app.exception
    assert app.session_state["f_dates"] == (date(2026, 1, 1), date(2026, 3, 31))
    assert app.session_state["f_channels"] == ["webinar", "email"]
    assert _kpis(app) == _expected_kpis(demo_db, app, channels=["webinar", "email"])


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


def test_filters_survive_a_visit_to_an_unfiltered_page(app, demo_db):
    app.run()
    app.multiselect(key="f_segments").select("SMB").run()
    smb = _kpis(app)
    app.switch_page("pages/operations/data.py").run()
    assert not app.exception, [e.value for e in app.exception]
    app.switch_page("pages/marketing/overview.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.multiselect(key="f_segments").value == ["SMB"]
    assert _kpis(app) == smb == _expected_kpis(demo_db, app, segments=["SMB"])


def test_first_start_builds_the_demo_warehouse(app_test, tmp_path, monkeypatch):
    """A fresh checkout: no REVLENS_DB, no data/warehouse.duckdb -> the app builds the demo, then shows it."""
    monkeypatch.delenv("REVLENS_DB")
    monkeypatch.chdir(tmp_path)
    at = app_test()
    at.default_timeout = 300
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    built = tmp_path / "data" / "warehouse.duckdb"
    assert built.exists()
    assert [s.label for s in at.status] == ["Demo warehouse ready"]
    assert _kpis(at) == _expected_kpis(str(built), at)  # the Overview draws the new warehouse's numbers


def test_overview_monthly_figures_are_drawn_when_opened(app, demo_db):
    """The table is computed only in an open expander (it costs the first page pandas and pyarrow)."""
    app.run()
    monthly = app.expander(key="overview_monthly")
    assert monthly.label == "Monthly figures" and len(monthly.dataframe) == 0
    app.session_state["overview_monthly"] = True  # the user opens it
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    (table,) = app.expander(key="overview_monthly").dataframe
    start, end = app.session_state["f_dates"]
    con = duckdb.connect(demo_db, read_only=True)
    try:
        trends = overview.monthly_trends(con, start, end)
    finally:
        con.close()
    assert table.value["won_revenue"].tolist() == trends["won_revenue"].to_list()
    assert app.get_by_key("download_overview").label == "Download CSV"


FIRST_PAGE_PROBE = """
import json, sys
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

original_init = PagesManager.__init__

def init_as_the_server_runs(self, *args, **kwargs):
    original_init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False

PagesManager.__init__ = init_as_the_server_runs
at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
assert not at.exception, [e.value for e in at.exception]
assert len(at.get_by_key("overview_kpis").metric) == 5
print(json.dumps(sorted(sys.modules)))
"""


def test_the_first_page_loads_only_what_it_draws(demo_db, tmp_path):
    """A fresh process drawing the Overview imports no scipy, scikit-learn, HubSpot SDK, SQLAlchemy, Arrow, numpy,
    pandas or demo builder (each costs the app's cold start; the Overview needs none of them)."""
    env = {**os.environ, "REVLENS_DB": demo_db, "REVLENS_OPS_URL": f"sqlite:///{tmp_path / 'ops.sqlite'}"}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_PAGE_PROBE, APP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = ("scipy", "sklearn", "hubspot", "sqlalchemy", "pyarrow", "pandas", "numpy", "analytics.demo.builder")
    loaded = [m for m in modules if any(m == name or m.startswith(name + ".") for name in heavy)]
    assert loaded == [], loaded
