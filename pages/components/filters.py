"""The global filters: date range with presets, segments and channels, kept in the URL so a view can be shared.

One period control per page: the date range, with presets beside it (last 30 days, last
quarter, quarter to date, year to date, last 12 months; :func:`analytics.core.periods.preset_range`,
counted back from the data's last day) and a jump to any quarter or month of the data. A
range that is exactly a month, quarter or year is reported as one
(:func:`analytics.core.periods.period_of`), so the ROI page's "2026-Q2" is 1 Apr – 30 Jun
here. A typed date applies on Enter (and when the calendar closes).

A filter that cannot apply to a page is disabled on that page, with the reason on the
widget (:data:`FILTER_SCOPE`); its value is kept for the other pages and the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from analytics.core.labels import label
from analytics.core.periods import PRESETS, ReportPeriod, add_months, clamp, parse_period, period_labels, period_of
from analytics.core.periods import preset_range as preset_period
from analytics.overview import kpis as overview
from pages.components.cache import cached

# Page -> filter -> why it does not apply there (the widget is disabled on that page, with this as its help).
FILTER_SCOPE: dict[str, dict[str, str]] = {
    "pages/marketing/leads.py": {
        "channel": "Not used on Leads: a lead is scored on all its touches, whatever their channel.",
    },
    "pages/sales/routing.py": {
        "channel": "Not used on Routing: every new lead is routed, whatever channel it came from.",
    },
    "pages/finance/roi.py": {
        "segment": "Not used on ROI: campaign costs have no segment, so a campaign's return cannot be split by it.",
    },
}

# A typed date applies on Enter: the date field commits what was typed on Escape (and when its
# calendar closes), so Enter in a date field is passed on as Escape. The script runs in the page.
_ENTER_COMMITS_JS = """
export default function(component) {
    if (window.__revlensEnterCommitsDates) return;
    window.__revlensEnterCommitsDates = true;
    document.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter' || event.isComposing || !event.target.closest) return;
        if (!event.target.closest('[data-testid="stDateInputField"]')) return;
        event.preventDefault();
        event.stopPropagation();
        event.target.dispatchEvent(
            new KeyboardEvent('keydown', {key: 'Escape', code: 'Escape', bubbles: true, cancelable: true})
        );
    }, true);
}
"""
_enter_commits_dates = st.components.v2.component("revlens_enter_commits_dates", js=_ENTER_COMMITS_JS)


@dataclass(frozen=True)
class Filters:
    """The global filters set in the filter bar above the page (:func:`filter_bar`); empty tuples mean all.

    A filter that does not apply to the page (:data:`FILTER_SCOPE`) is empty here, whatever the
    bar keeps for other pages. ``first`` and ``last`` are the data's first and last day.
    """

    start: date
    end: date
    segments: tuple[str, ...]
    channels: tuple[str, ...]
    first: date | None = None
    last: date | None = None

    @property
    def period(self) -> ReportPeriod:
        """The range as a month, quarter or year when it is exactly one (else a custom range)."""
        return period_of(self.start, self.end)


def filters() -> Filters:
    return st.session_state["filters"]


def _parse_date(text: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(text) if text else fallback
    except ValueError:
        return fallback


def _parse_list(text: str | None, allowed: list[str]) -> list[str]:
    return [item for item in (text or "").split(",") if item in allowed]


def _range(period: ReportPeriod, first: date, last: date) -> tuple[date, date]:
    period = clamp(period, first, last)
    return period.start, period.end


def _apply_preset(first: date, last: date) -> None:
    name = st.session_state.get("f_preset")
    if name:
        st.session_state["f_dates"] = _range(preset_period(name, last), first, last)


def _apply_period(first: date, last: date) -> None:
    text = st.session_state.get("f_period")
    if text:
        st.session_state["f_dates"] = _range(parse_period(text), first, last)


def _matching(start: date, end: date, first: date, last: date, periods: list[str]) -> tuple[str | None, str | None]:
    """The preset and the quarter or month that give exactly ``[start, end]`` (None when none does)."""
    preset = next((p for p in PRESETS if _range(preset_period(p, last), first, last) == (start, end)), None)
    period = period_of(start, end).label
    return preset, period if period in periods else None


def filter_bar(page: str | None = None) -> Filters:
    """Date range (presets, a quarter or month), segment and channel above ``page``; read from and written to the URL."""
    first, last = cached(overview.data_range)
    segments, channels = cached(overview.segment_and_channel_options)
    not_here = FILTER_SCOPE.get(page or "", {})
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
    else:  # a link that names filters (another page's, the browser's back button) wins over the kept ones
        _follow_url(kept, first, last, segments, channels)
    # Streamlit forgets a widget's state after a run that does not draw it (an Operations
    # page): restore the filters from the copy kept outside the widgets.
    for key, value in kept.items():
        if key not in st.session_state:
            st.session_state[key] = value
    periods = period_labels(first, last, "quarter") + period_labels(first, last, "month")
    dates = st.session_state["f_dates"]
    if len(dates) == 2:  # the preset and the quarter or month that show the range (none: a custom range)
        st.session_state["f_preset"], st.session_state["f_period"] = _matching(*dates, first, last, periods)
    # In the main area, not the sidebar: in Streamlit 1.67 changes to sidebar widgets of the
    # entrypoint are lost when the app uses st.navigation.
    with st.container(key="filter_bar"):
        with st.container(horizontal=True, vertical_alignment="bottom"):
            dates = st.date_input(
                "Date range",
                key="f_dates",
                min_value=first,
                max_value=last,
                format="YYYY-MM-DD",
                width=250,
                help=f"The data runs from {first:%d %b %Y} to {last:%d %b %Y}. Type a date and press Enter, "
                "or pick it in the calendar.",
            )
            st.selectbox(
                "Quarter or month",
                periods,
                index=None,
                key="f_period",
                placeholder="Custom range",
                on_change=_apply_period,
                args=(first, last),
                width=170,
                help="Jump to a whole quarter or month of the data.",
            )
            chosen_segments = st.multiselect(
                "Segment" if "segment" not in not_here else "Segment (not used here)",
                segments,
                key="f_segments",
                placeholder="All segments",
                disabled="segment" in not_here,
                help=not_here.get("segment"),
            )
            chosen_channels = st.multiselect(
                "Channel" if "channel" not in not_here else "Channel (not used here)",
                channels,
                key="f_channels",
                format_func=lambda name: label("channel", name),  # a channel of the user's own reads as in its export
                placeholder="All channels",
                disabled="channel" in not_here,
                help=not_here.get("channel"),
            )
        with st.container(horizontal=True, vertical_alignment="center"):
            st.pills(
                "Presets",
                PRESETS,
                key="f_preset",
                format_func=lambda name: label("preset", name),
                on_change=_apply_preset,
                args=(first, last),
                label_visibility="collapsed",
                help=f"Counted back from the data's last day, {last:%d %b %Y}.",
            )
            _enter_commits_dates(key="enter_commits_dates")
    start, end = (dates[0], dates[1]) if len(dates) == 2 else (dates[0], dates[0])
    kept.update(f_dates=(start, end), f_segments=chosen_segments, f_channels=chosen_channels)
    written = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "segment": ",".join(chosen_segments),
        "channel": ",".join(chosen_channels),
    }
    _to_url(written)
    st.session_state[_WRITTEN] = written
    return Filters(
        start=start,
        end=end,
        segments=() if "segment" in not_here else tuple(chosen_segments),
        channels=() if "channel" in not_here else tuple(chosen_channels),
        first=first,
        last=last,
    )


_WRITTEN = "filters_written"  # the filter parameters this session last wrote to the URL
_PARAMS = ("from", "to", "segment", "channel")


def _follow_url(kept: dict, first: date, last: date, segments: list[str], channels: list[str]) -> None:
    """Adopt the filter parameters of the URL that differ from what the bar last wrote there.

    A widget change leaves the URL as written (the bar writes it after the widgets); a link
    (``st.page_link(..., query_params=...)``, a shared address, the back button) changes it.
    A parameter the URL does not name keeps its value: switching pages clears the URL.
    """
    written = st.session_state.get(_WRITTEN) or {}
    given = {name: st.query_params.get(name) for name in _PARAMS if name in st.query_params}
    changed = {name: value for name, value in given.items() if value != written.get(name)}
    if not changed:
        return
    start, end = kept["f_dates"] if len(kept.get("f_dates", ())) == 2 else (first, last)
    if "from" in changed or "to" in changed:
        start = min(max(_parse_date(given.get("from"), start), first), last)
        end = min(max(_parse_date(given.get("to"), end), start), last)
        kept["f_dates"] = st.session_state["f_dates"] = (start, end)
    if "segment" in changed:
        kept["f_segments"] = st.session_state["f_segments"] = _parse_list(given["segment"], segments)
    if "channel" in changed:
        kept["f_channels"] = st.session_state["f_channels"] = _parse_list(given["channel"], channels)


def _to_url(values: dict[str, str]) -> None:
    """Set (or, when empty, remove) the filters' own query parameters; a page's other parameters stay."""
    for name, value in values.items():
        if value:
            if st.query_params.get(name) != value:
                st.query_params[name] = value
        elif name in st.query_params:
            del st.query_params[name]
