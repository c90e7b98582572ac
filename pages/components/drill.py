"""Click to drill down, with the drilled view in the URL so that it can be shared.

A page keeps a control's value in a URL parameter of its own (``/attribution?by=campaign&drill=CMP006``):
:func:`from_url` adopts the parameter before the widget is drawn when the URL changed (a shared
link, a link from another page, the back button), :func:`to_url` writes the widget's value after
it. A widget change leaves the URL as written, so the widget wins; a link wins over the kept value.
The parameters hold machine names (ids), whatever the widget shows.

:func:`drill_from_chart` and :func:`drill_from_table` are the ``on_select`` callbacks of a plotly
chart (the clicked point's ``customdata``) and of a dataframe (the clicked row's key); both set
the drill-down's widget. :func:`breadcrumbs` draws the way back.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

_WRITTEN = "url_written"  # the page parameters this session last wrote to the URL


def from_url(key: str, param: str, allowed: Sequence) -> None:
    """Before widget ``key`` is drawn: take the URL's ``param`` when it is new and one of ``allowed``."""
    written = st.session_state.setdefault(_WRITTEN, {})
    value = st.query_params.get(param)
    if value is None or value == written.get(param):
        return
    written[param] = value
    matches = [option for option in allowed if str(option) == value]
    if matches:
        st.session_state[key] = matches[0]


def to_url(param: str, value) -> None:
    """After the widget is drawn: its value in the URL (None removes the parameter)."""
    written = st.session_state.setdefault(_WRITTEN, {})
    if value is None:
        written.pop(param, None)
        if param in st.query_params:
            del st.query_params[param]
        return
    text = str(value)
    written[param] = text
    if st.query_params.get(param) != text:
        st.query_params[param] = text


def drill_from_chart(chart_key: str, drill_key: str, allowed: Sequence[str]) -> None:
    """``on_select`` of a plotly chart whose points carry their key as ``customdata``."""
    points = (st.session_state.get(chart_key) or {}).get("selection", {}).get("points") or []
    for point in points:
        value = point.get("customdata")
        value = value[0] if isinstance(value, list | tuple) else value
        if value in allowed:
            st.session_state[drill_key] = value
            return


def drill_from_table(table_key: str, drill_key: str, keys: Sequence[str]) -> None:
    """``on_select`` of a dataframe whose row *i* shows ``keys[i]``."""
    rows = (st.session_state.get(table_key) or {}).get("selection", {}).get("rows") or []
    if rows and 0 <= rows[0] < len(keys):
        st.session_state[drill_key] = keys[rows[0]]


def leave(drill_key: str) -> None:
    st.session_state[drill_key] = None


def breadcrumbs(trail: Sequence[str], drill_key: str, back: str, key: str) -> None:
    """``Page › Level › Item`` with a back button that leaves the drill-down."""
    with st.container(horizontal=True, vertical_alignment="center", key=f"{key}_breadcrumbs"):
        st.button(back, icon=":material/arrow_back:", type="tertiary", on_click=leave, args=(drill_key,), key=key)
        st.caption(" › ".join(trail))
