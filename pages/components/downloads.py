"""Downloads offered by the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    import polars as pl


def download_csv(frame: pl.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    st.download_button(
        label,
        frame.write_csv().encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
    )
