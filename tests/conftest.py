"""Shared fixtures: a small demo warehouse built once per test session."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from analytics.demo import build_demo

SMALL_TOUCHPOINTS = 30_000


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> str:
    """Path of a small demo warehouse (seed 7, 30,000 touchpoints); treat it as read-only."""
    path = tmp_path_factory.mktemp("warehouse") / "demo.duckdb"
    build_demo(path, seed=7, touchpoints=SMALL_TOUCHPOINTS)
    return str(path)


APP = str(Path(__file__).resolve().parent.parent / "app.py")
APP_TIMEOUT = 120  # first runs compute uncached analytics on a shared 2-core machine


@pytest.fixture()
def app_test(demo_db, monkeypatch):
    """A factory of AppTests of ``app.py`` on the small demo warehouse.

    AppTest (Streamlit 1.67) resets the pages-folder flag before every run, so an app
    that has a ``pages/`` folder *and* calls ``st.navigation`` runs the folder's
    scripts directly from its second run on, skipping the entrypoint. The real server
    never does (``st.navigation`` clears the flag for good); the runner's check is
    pinned to that behaviour here.
    """
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(script_runner, "PagesManager", SimpleNamespace(uses_pages_directory=False))
    monkeypatch.setenv("REVLENS_DB", demo_db)
    return lambda: AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
