"""What every page shares: the warehouse, cached analytics calls, the global filters.

Pages stay thin: they read :func:`filters`, call analytics functions through
:func:`cached` (keyed on the warehouse version and the parameters, so a new load
invalidates them), draw, and offer downloads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

import polars as pl
import streamlit as st

from analytics.errors import RevLensError
from analytics.warehouse import Warehouse, db_path


@st.cache_resource(show_spinner=False)
def _open_warehouse(path: str, mtime: float) -> Warehouse:
    # mtime in the key: a rebuilt file (demo, import) gets a fresh connection
    return Warehouse(path)


def _run_through_entrypoint() -> None:
    """Make a deep link (``/roi?channel=email``) opened first in a fresh server run ``app.py``.

    Until some session has run ``app.py`` (whose ``st.navigation`` turns it off), Streamlit
    1.67 is in its old pages-folder mode and runs the linked page's file alone: no menu, no
    filters. Turn the mode off and rerun, which goes through the entrypoint.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def warehouse() -> Warehouse:
    """The app's read-only warehouse; on a user-fixable problem, an error and a stop."""
    _run_through_entrypoint()
    path = db_path()
    try:
        mtime = os.path.getmtime(path) if path.exists() else 0.0
        return _open_warehouse(str(path), mtime)
    except RevLensError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


def release_warehouse() -> None:
    """Close the app's connection so this process can write to the file (imports)."""
    _open_warehouse.clear()


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_call(version: str, func_name: str, params: dict, _func: Callable, _wh: Warehouse):
    cursor = _wh.cursor()
    try:
        return _func(cursor, **params)
    finally:
        cursor.close()


def cached(func: Callable[..., Any], **params: Any) -> Any:
    """Call ``func(cursor, **params)`` once per warehouse version and parameter set.

    A :class:`RevLensError` is shown as ``st.error`` and stops the page.
    """
    wh = warehouse()
    try:
        return _cached_call(wh.version(), f"{func.__module__}.{func.__qualname__}", params, func, wh)
    except RevLensError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


@dataclass(frozen=True)
class Filters:
    """The global filters set in the sidebar of ``app.py``; empty tuples mean all."""

    start: date
    end: date
    segments: tuple[str, ...]
    channels: tuple[str, ...]


def filters() -> Filters:
    _run_through_entrypoint()
    return st.session_state["filters"]


def download_csv(frame: pl.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    st.download_button(label, frame.write_csv().encode("utf-8"), file_name=file_name,
                       mime="text/csv", icon=":material/download:", key=key)


# The app's pages by role. A group with no page is not shown; tests parametrize over this.
NAVIGATION: dict[str, list[tuple[str, str, str]]] = {
    "Marketing": [
        ("pages/overview.py", "Overview", ":material/dashboard:"),
        ("pages/attribution.py", "Attribution", ":material/account_tree:"),
    ],
    "Finance": [
        ("pages/roi.py", "ROI", ":material/paid:"),
    ],
    "Customer Success": [],
    "Operations": [
        ("pages/data.py", "Data", ":material/database:"),
        ("pages/imports.py", "Import", ":material/upload_file:"),
    ],
}


def page_paths() -> list[str]:
    return [path for pages in NAVIGATION.values() for path, _, _ in pages]


def money(value: float | None) -> str:
    """Compact dollars for KPI tiles: $950, $12.3K, $4.56M, $1.20B; None as an em dash."""
    if value is None:
        return "—"
    sign, value = ("-" if value < 0 else ""), abs(value)
    for threshold, suffix, digits in ((1e9, "B", 2), (1e6, "M", 2), (1e3, "K", 1)):
        if value >= threshold:
            return f"{sign}${value / threshold:,.{digits}f}{suffix}"
    return f"{sign}${value:,.0f}"
