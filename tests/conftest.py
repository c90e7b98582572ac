"""Shared fixtures: a small demo warehouse built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.demo.builder import build_demo
from analytics.warehouse.connection import connect
from tests.tiny import build_tiny_warehouse

SMALL_TOUCHPOINTS = 30_000


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> str:
    """Path of a small demo warehouse (seed 7, 30,000 touchpoints); treat it as read-only."""
    path = tmp_path_factory.mktemp("warehouse") / "demo.duckdb"
    build_demo(path, seed=7, touchpoints=SMALL_TOUCHPOINTS)
    return str(path)


@pytest.fixture(scope="module")
def demo(demo_db):
    """A read-only connection to the small demo warehouse, closed after the module (a module that writes to
    ``demo_db`` must not hold it)."""
    con = connect(demo_db, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A read-only connection to the tiny warehouse (``tests/tiny.py``: every number by hand)."""
    path = build_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    con = connect(path, read_only=True)
    yield con
    con.close()


APP = str(Path(__file__).resolve().parent.parent / "app.py")
APP_TIMEOUT = 120  # first runs compute uncached analytics on a shared 2-core machine


@pytest.fixture()
def app_test(demo_db, monkeypatch, tmp_path):
    """A factory of AppTests of ``app.py`` on the small demo warehouse.

    AppTest (Streamlit 1.67) resets the pages-folder flag before every run, so an app
    that has a ``pages/`` folder *and* calls ``st.navigation`` would start every run in
    the old pages-folder mode, which the real server leaves for good once ``app.py`` has
    run (``st.navigation`` clears the flag). The flag is cleared after AppTest sets it,
    as the real server has it.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original_init = PagesManager.__init__

    def init_as_the_server_runs(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_as_the_server_runs)
    from analytics.jobs import sla

    # the app's SLA samples are buffered process-wide: an earlier test's pages must not land in this store
    sla.recorder.clear()
    monkeypatch.setenv("REVLENS_DB", demo_db)
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")  # not the worktree's data/
    return lambda: AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
