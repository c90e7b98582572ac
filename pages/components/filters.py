"""The global filters: date range, segments and channels, kept in the URL so a view can be shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from analytics.core.labels import label
from analytics.core.periods import add_months
from analytics.overview import kpis as overview
from pages.components.cache import cached


@dataclass(frozen=True)
class Filters:
    """The global filters set in the filter bar above the page (:func:`filter_bar`); empty tuples mean all."""

    start: date
    end: date
    segments: tuple[str, ...]
    channels: tuple[str, ...]


def filters() -> Filters:
    return st.session_state["filters"]


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
        default_start = max(first, add_months(last, -5))  # so the previous period is inside the data too
        start = min(max(_parse_date(params.get("from"), default_start), first), last)
        end = min(max(_parse_date(params.get("to"), last), start), last)
        kept.update(
            f_dates=(start, end),
            f_segments=_parse_list(params.get("segment"), segments),
            f_channels=_parse_list(params.get("channel"), channels),
        )
    # Streamlit forgets a widget's state after a run that does not draw it (an Operations
    # page): restore the filters from the copy kept outside the widgets.
    for key, value in kept.items():
        if key not in st.session_state:
            st.session_state[key] = value
    # In the main area, not the sidebar: in Streamlit 1.67 changes to sidebar widgets of the
    # entrypoint are lost when the app uses st.navigation.
    with st.container(horizontal=True, vertical_alignment="bottom", key="filter_bar"):
        dates = st.date_input(
            "Date range", key="f_dates", min_value=first, max_value=last, format="YYYY-MM-DD", width=260
        )
        chosen_segments = st.multiselect("Segment", segments, key="f_segments", placeholder="All segments")
        chosen_channels = st.multiselect(
            "Channel",
            channels,
            key="f_channels",
            placeholder="All channels",
            format_func=lambda name: label("channel", name),  # a channel of the user's own reads as in its export
        )
    start, end = (dates[0], dates[1]) if len(dates) == 2 else (dates[0], dates[0])
    kept.update(f_dates=(start, end), f_segments=chosen_segments, f_channels=chosen_channels)
    st.query_params.from_dict(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            **({"segment": ",".join(chosen_segments)} if chosen_segments else {}),
            **({"channel": ",".join(chosen_channels)} if chosen_channels else {}),
        }
    )
    return Filters(start=start, end=end, segments=tuple(chosen_segments), channels=tuple(chosen_channels))
