"""RevLens: the entrypoint. Builds the demo warehouse on first start, shows the shared
filters (kept in the URL so a view can be shared) and hands over to the chosen page."""

from __future__ import annotations

import sys

import streamlit as st

if __name__ == "__main__" and not st.runtime.exists():  # `python app.py [--port N] [--address A]`
    import argparse
    from pathlib import Path

    from pages.components.server import serve

    options = argparse.ArgumentParser(description="Start the RevLens app.")
    options.add_argument("--port", type=int, default=8501)
    options.add_argument("--address", default="127.0.0.1")
    given = options.parse_args()
    serve(Path(__file__).resolve(), port=given.port, address=given.address)
    sys.exit()

from analytics.core.settings import DEFAULT_DB, db_path
from analytics.jobs.sla import track
from pages.components.cache import start_run, warehouse
from pages.components.filters import filter_bar
from pages.components.navigation import (
    ABOUT,
    ICON,
    NAVIGATION,
    UNFILTERED_GROUPS,
    follow_deep_link,
    leave_pages_folder_mode,
    url_path,
)

leave_pages_folder_mode()
st.set_page_config(
    page_title="RevLens",
    page_icon=ICON,
    layout="wide",
    menu_items={"About": ABOUT, "Get help": None, "Report a bug": None},
)


def ensure_warehouse() -> None:
    """First start on a fresh checkout: build the demo warehouse, with progress."""
    path = db_path()
    if path.exists() or str(path) != DEFAULT_DB:
        return  # a user-set REVLENS_DB that is missing gets a clear error from warehouse()
    from analytics.demo.builder import build_demo  # only on first start: keeps numpy off the cold path

    with st.status("First start: building the demo warehouse…", expanded=True) as status:
        bar = st.progress(0.0)
        build_demo(path, progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message))
        status.update(label="Demo warehouse ready", state="complete", expanded=False)


ensure_warehouse()
start_run()
warehouse()  # a missing or foreign file stops here with a clear message; a file being written, with a notice

pages_by_url = {
    url_path(path): st.Page(path, title=title, icon=icon, url_path=url_path(path))
    for pages in NAVIGATION.values()
    for path, title, icon in pages
}
pages_by_group = {
    group: [pages_by_url[url_path(path)] for path, _, _ in pages] for group, pages in NAVIGATION.items() if pages
}
# The first page is served at "/"; a link to its own name (/overview?segment=SMB) opens it too,
# through a hidden twin, instead of Streamlit's "page not found".
home_path, home_title, home_icon = next(iter(NAVIGATION.values()))[0]
pages_by_url[url_path(home_path)] = st.Page(
    home_path, title=home_title, icon=home_icon, url_path=f"{url_path(home_path)}_home", default=True
)
pages_by_group[next(iter(pages_by_group))][0] = pages_by_url[url_path(home_path)]
twin = st.Page(home_path, title=home_title, icon=home_icon, url_path=url_path(home_path), visibility="hidden")
page = st.navigation({**pages_by_group, "": [twin]}, position="top")
follow_deep_link(page, pages_by_url)
st.set_page_config(page_title=f"{page.title} · RevLens")  # the browser tab names the page
paths_by_page = {url_path(path): path for pages in NAVIGATION.values() for path, _, _ in pages}
unfiltered = [p for group in UNFILTERED_GROUPS for p in pages_by_group.get(group, [])]
if page not in unfiltered:  # operations pages show every row, unfiltered
    st.session_state["filters"] = filter_bar(paths_by_page.get(page.url_path or url_path(home_path)))
with track(f"page.{url_path(page.url_path or url_path(home_path))}", "real_time_operations"):  # the SLA's page run
    page.run()
