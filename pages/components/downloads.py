"""Downloads offered by the pages: labels and money in cents by default, the raw values one click away.

The default file is what the page shows (:func:`analytics.core.tables.readable`: labelled
headers and values, money rounded to cents); "Raw values" is the frame as computed, with
machine names and full precision, for a script or a spreadsheet that joins it back to the
data. Both are built only when clicked. (The CLI's CSV and JSON always keep machine names.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import streamlit as st

from analytics.core.cells import csv_text
from analytics.core.tables import readable

if TYPE_CHECKING:
    import polars as pl


def download_csv(
    frame: pl.DataFrame,
    file_name: str,
    label: str = "Download CSV",
    key: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    raw: bool = True,
) -> None:
    """A download of ``frame`` as people read it, and (``raw``) a second one of its raw values."""
    key = key or f"download_{file_name}"
    with st.container(horizontal=True, gap="small", key=f"{key}_group"):
        st.download_button(
            label,
            lambda: csv_text(readable(frame, headers=headers, kinds=kinds)).encode("utf-8"),  # no live formula
            file_name=file_name,
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key=key,
            help="Labels as on the page, money rounded to cents.",
        )
        if raw:
            st.download_button(
                "Raw values",
                lambda: csv_text(frame).encode("utf-8"),
                file_name=file_name.replace(".csv", "_raw.csv"),
                mime="text/csv",
                type="tertiary",
                on_click="ignore",
                key=f"{key}_raw",
                help="Machine names and full precision, as the command line writes them.",
            )
