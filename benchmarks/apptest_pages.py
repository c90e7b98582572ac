"""A page of the RevLens app in Streamlit's AppTest, as the benchmarks time its reruns.

Streamlit's server compiles a page once (its script cache); AppTest makes a new cache on every
run, so a rerun there also re-parses the page. :func:`open_page` gives either: ``script_cache``
shares one cache between runs (the server's behaviour, what a page's goal measures), without it
the page is recompiled every run (AppTest's own).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent


def open_page(db, page: str, *, script_cache: bool):
    """``(at, seconds)``: an AppTest of ``app.py`` on the warehouse ``db``, switched to ``page`` (a path
    under ``pages/``), and how long the switch took (the page's first, uncached run)."""
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest, app_test, local_script_runner

    script_runner.PagesManager = SimpleNamespace(uses_pages_directory=False)  # see tests/conftest.py
    os.environ["REVLENS_DB"] = str(db)
    os.environ.setdefault("REVLENS_OPS_URL", f"sqlite:///{Path(tempfile.mkdtemp()) / 'ops.sqlite'}")
    if script_cache:  # one cache for every run, as the server has
        shared = ScriptCache()
        app_test.ScriptCache = local_script_runner.ScriptCache = lambda cache=shared: cache
    else:
        app_test.ScriptCache = local_script_runner.ScriptCache = ScriptCache
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    started = time.perf_counter()
    at.switch_page(page).run()
    seconds = time.perf_counter() - started
    assert not at.exception, at.exception
    return at, seconds


def timed_reruns(at, set_widget: Callable[[object, int], object], runs: int) -> list[float]:
    """Seconds of ``runs`` reruns of ``at``, each after ``set_widget(at, k)`` changed a widget."""
    times = []
    for k in range(runs):
        set_widget(at, k)
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return times
