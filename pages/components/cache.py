"""The app's warehouse and cached analytics calls.

Pages stay thin: they read the filters (:mod:`pages.components.filters`), call analytics
functions through :func:`cached` (keyed on the warehouse version and the parameters, so a
new load invalidates them), draw, and offer downloads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import streamlit as st

from analytics.core.errors import RevLensError
from analytics.core.settings import db_path
from analytics.warehouse.connection import Warehouse


@st.cache_resource(show_spinner=False)
def _open_warehouse(path: str, mtime: float) -> Warehouse:
    # mtime in the key: a rebuilt file (demo, import) gets a fresh connection
    return Warehouse(path)


def warehouse() -> Warehouse:
    """The app's read-only warehouse; on a user-fixable problem, an error and a stop."""
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
