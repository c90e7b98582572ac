"""Downloads offered by the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from analytics.core.cells import csv_text

if TYPE_CHECKING:
    import polars as pl


def download_csv(frame: pl.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    st.download_button(
        label,
        csv_text(frame).encode("utf-8"),  # text cells neutralized: no formula reaches a spreadsheet
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
    )
