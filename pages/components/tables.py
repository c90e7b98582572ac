"""Tables as business users read them: labelled headers and values, money as dollars, "—" for an empty cell.

``table(frame, key=...)`` draws ``st.dataframe`` with:

- every header from the vocabulary (:func:`analytics.core.labels.label` of kind ``column``),
  unless the page's ``column_config`` names it;
- the values of vocabulary columns (channel, model, cost category, status...) as labels;
- money columns (:func:`analytics.core.tables.is_money`) as dollars;
- "—" for a missing value (never "None").

Pass ``on_select="rerun"`` (or a callback) to let a click on a row drill down; the return value
is then Streamlit's selection state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import streamlit as st

from analytics.core.labels import label
from analytics.core.numbers import DASH
from analytics.core.tables import is_money, label_values

if TYPE_CHECKING:
    import polars as pl

TEXT_TYPES = ("String", "Utf8", "Categorical", "Enum")


def column_config_for(frame: pl.DataFrame, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The column configuration of ``frame``: the page's own entries, else a labelled header (money as dollars)."""
    config: dict[str, Any] = {}
    for column, dtype in frame.schema.items():
        if given and column in given:
            config[column] = given[column]
        elif dtype.is_float() and is_money(column):
            config[column] = st.column_config.NumberColumn(label("column", column), format="dollar")
        elif dtype.is_float():
            config[column] = st.column_config.NumberColumn(label("column", column), format="%.2f")
        else:
            config[column] = label("column", column)
    for column, value in (given or {}).items():  # e.g. None to hide a column
        config.setdefault(column, value)
    return config


def table(
    frame: pl.DataFrame,
    *,
    key: str | None = None,
    column_config: Mapping[str, Any] | None = None,
    kinds: Mapping[str, str] | None = None,
    relabel: bool = True,
    **options: Any,
):
    """``st.dataframe`` of ``frame`` as described in the module docstring; ``options`` go to ``st.dataframe``."""
    shown = label_values(frame, kinds) if relabel else frame
    options.setdefault("hide_index", True)
    options.setdefault("width", "stretch")
    return st.dataframe(
        shown, key=key, column_config=column_config_for(shown, column_config), placeholder=DASH, **options
    )


def selected_rows(state) -> list[int]:
    """The row positions a table's selection state holds (empty when nothing is selected)."""
    try:
        return list(state["selection"]["rows"])
    except (KeyError, TypeError):
        return []
