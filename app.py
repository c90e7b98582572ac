"""RevLens: the entrypoint. Builds the demo warehouse on first start, shows the shared
filters (kept in the URL so a view can be shared) and hands over to the chosen page."""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import overview
from analytics.warehouse import DEFAULT_DB, db_path
from pages.shared import NAVIGATION, Filters, cached, warehouse

st.set_page_config(page_title="RevLens", page_icon=":material/insights:", layout="wide")


def ensure_warehouse() -> None:
    """First start on a fresh checkout: build the demo warehouse, with progress."""
    path = db_path()
    if path.exists() or str(path) != DEFAULT_DB:
        return  # a user-set REVLENS_DB that is missing gets a clear error from warehouse()
    from analytics.demo import build_demo  # only on first start: keeps numpy off the cold path

    with st.status("First start: building the demo warehouse…", expanded=True) as status:
        bar = st.progress(0.0)
        build_demo(path, progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message))
        status.update(label="Demo warehouse ready", state="complete", expanded=False)


def _parse_date(text: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(text) if text else fallback
    except ValueError:
        return fallback


def _parse_list(text: str | None, allowed: list[str]) -> list[str]:
    return [item for item in (text or "").split(",") if item in allowed]


def filter_bar() -> Filters:
    """Date range, segment and channel above the page; read from and written back to the URL."""
    first, last = cached(overview.data_range)
    segments, channels = cached(overview.segment_and_channel_options)
    params = st.query_params
    kept = st.session_state.setdefault("filters_kept", {})
    if not kept:  # first run of the session: from the URL, else the last six whole months
        months_back = last.year * 12 + last.month - 1 - 5  # so the previous period is inside the data too
        default_start = max(first, date(months_back // 12, months_back % 12 + 1, 1))
        start = min(max(_parse_date(params.get("from"), default_start), first), last)
        end = min(max(_parse_date(params.get("to"), last), start), last)
        kept.update(f_dates=(start, end), f_segments=_parse_list(params.get("segment"), segments),
                    f_channels=_parse_list(params.get("channel"), channels))
    # Streamlit forgets a widget's state after a run that does not draw it (an Operations
    # page): restore the filters from the copy kept outside the widgets.
    for key, value in kept.items():
        if key not in st.session_state:
            st.session_state[key] = value
    # In the main area, not the sidebar: in Streamlit 1.67 changes to sidebar widgets of the
    # entrypoint are lost when the app uses st.navigation.
    with st.container(horizontal=True, vertical_alignment="bottom", key="filter_bar"):
        dates = st.date_input("Date range", key="f_dates", min_value=first, max_value=last,
                              format="YYYY-MM-DD", width=260)
        chosen_segments = st.multiselect("Segment", segments, key="f_segments", placeholder="All segments")
        chosen_channels = st.multiselect("Channel", channels, key="f_channels", placeholder="All channels")
    start, end = (dates[0], dates[1]) if len(dates) == 2 else (dates[0], dates[0])
    kept.update(f_dates=(start, end), f_segments=chosen_segments, f_channels=chosen_channels)
    st.query_params.from_dict({
        "from": start.isoformat(), "to": end.isoformat(),
        **({"segment": ",".join(chosen_segments)} if chosen_segments else {}),
        **({"channel": ",".join(chosen_channels)} if chosen_channels else {}),
    })
    return Filters(start=start, end=end, segments=tuple(chosen_segments), channels=tuple(chosen_channels))


ensure_warehouse()
warehouse()  # a missing, foreign or locked file stops here with a clear message

pages_by_group = {
    group: [st.Page(path, title=title, icon=icon, url_path=path.removeprefix("pages/").removesuffix(".py"))
            for path, title, icon in pages]
    for group, pages in NAVIGATION.items() if pages
}
page = st.navigation(pages_by_group, position="top")
if page not in pages_by_group.get("Operations", []):  # operations pages show every row, unfiltered
    st.session_state["filters"] = filter_bar()
page.run()
