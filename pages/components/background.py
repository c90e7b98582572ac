"""Slow figures computed in the background, so a page answers at once and shows them when ready.

``background(func, **params)`` returns ``func(cursor, **params)`` once it is computed (cached
per warehouse version and parameters, for every session of the server), else ``None`` while a
worker thread computes it. Draw the figure in an ``st.fragment(run_every=...)`` so it appears
without a click. The work starts on the fragment's own reruns, never on the page's first run:
the page's first draw stays fast and loads nothing the figure needs (the churn model's
scikit-learn, for the Overview's ARR at risk).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import streamlit as st

from pages.components.cache import warehouse


@st.cache_resource(show_spinner=False)
def _jobs() -> tuple[ThreadPoolExecutor, dict, threading.Lock]:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="revlens-background"), {}, threading.Lock()


def _in_fragment_rerun() -> bool:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))


def background(func: Callable[..., Any], start: bool | None = None, **params: Any) -> Any:
    """``func(cursor, **params)`` when ready, else None (and, in a fragment's rerun or with ``start``, start it)."""
    wh = warehouse()
    key = (wh.version(), f"{func.__module__}.{func.__qualname__}", tuple(sorted(params.items())))
    executor, futures, lock = _jobs()
    with lock:
        future: Future | None = futures.get(key)
        if future is None and (start if start is not None else _in_fragment_rerun()):

            def job():
                cursor = wh.cursor()
                try:
                    return func(cursor, **params)
                finally:
                    cursor.close()

            future = futures[key] = executor.submit(job)
    if future is None or not future.done():
        return None
    return future.result()  # an exception in the job is raised here, on the page that asked


def wait_all(timeout: float | None = None) -> None:
    """Wait until every background job has finished (for tests)."""
    _, futures, lock = _jobs()
    with lock:
        pending = list(futures.values())
    for future in pending:
        future.exception(timeout=timeout)
