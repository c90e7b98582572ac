"""The app's warehouse and cached analytics calls.

Pages stay thin: they read the filters (:mod:`pages.components.filters`), call analytics
functions through :func:`cached` (keyed on the warehouse version and the parameters, so a
new load invalidates them), draw, and offer downloads.

The app never keeps a writer out (:mod:`analytics.warehouse.connection`): it holds no
connection while idle, and while an import, a sync or a job writes, every page answers from
its cached results; what is not cached yet shows a short "updating" notice instead of the
rest of the page, and the page reruns by itself once the write has committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from analytics.core.errors import RevLensError
from analytics.core.labels import learn
from analytics.core.settings import db_path
from analytics.warehouse.connection import Warehouse, WarehouseBusy, current_writer

POLL_WHILE_UPDATING_S = 2.0
_NOTICE_SHOWN = "_revlens_updating_notice_shown"


@st.cache_resource(show_spinner=False)
def _open_warehouse(path: str, inode: int) -> Warehouse:
    # the inode in the key: a file replaced by a rebuild (the demo) gets a fresh handle
    return Warehouse(path)


def warehouse() -> Warehouse:
    """The app's read-only warehouse; on a user-fixable problem, an error and a stop.

    While a writer has the file, an "updating" notice (once per run) and the last data read.
    """
    path = db_path()
    try:
        inode = path.stat().st_ino if path.exists() else 0
        wh = _open_warehouse(str(path), inode)
        wh.meta()  # a changed file is read again; a busy one answers with what it had
    except WarehouseBusy as exc:
        _updating(str(exc))
        st.stop()
    except RevLensError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    writer = wh.writer()
    if writer is not None:
        _updating(f"Updating: {writer.describe()} is writing to the warehouse; this page shows the data as it was.")
    _learn_labels(wh)
    return wh


def _learn_labels(wh: Warehouse) -> None:
    """The warehouse's own channel labels (a channel only the user's data has reads as its original name)."""
    from analytics.imports.ledger import channel_labels

    try:
        learn("channel", _cached_call(wh.version(), "channel_labels", {}, channel_labels, wh))
    except WarehouseBusy:
        pass  # labels of the last read stay learned


def _updating(message: str) -> None:
    """A short notice, once per run, and a poll that reruns the page when the write has committed."""
    if st.session_state.get(_NOTICE_SHOWN):
        return
    st.session_state[_NOTICE_SHOWN] = True
    st.info(message, icon=":material/sync:")
    path = db_path()

    @st.fragment(run_every=POLL_WHILE_UPDATING_S)
    def rerun_when_written() -> None:
        if current_writer(path) is None:
            st.rerun(scope="app")

    rerun_when_written()


def start_run() -> None:
    """Called by ``app.py`` as a script run starts: this run may show the notice again."""
    st.session_state.pop(_NOTICE_SHOWN, None)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_call(version: str, func_name: str, params: dict, _func: Callable, _wh: Warehouse):
    with _wh.reading() as cursor:
        return _func(cursor, **params)


def cached(func: Callable[..., Any], **params: Any) -> Any:
    """Call ``func(cursor, **params)`` once per warehouse version and parameter set.

    A :class:`RevLensError` is shown as ``st.error`` and stops the page; while a writer has the
    warehouse, what is not cached yet shows the "updating" notice and stops the page there.
    """
    wh = warehouse()
    try:
        return _cached_call(wh.version(), f"{func.__module__}.{func.__qualname__}", params, func, wh)
    except WarehouseBusy as exc:
        _updating(str(exc))
        st.stop()
    except RevLensError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
