"""Data: what the warehouse holds, how fresh it is, samples and downloads of every table."""

import streamlit as st

from analytics.warehouse import catalog
from analytics.warehouse.schema import TABLES
from pages.components.cache import cached, warehouse

st.title("Data")
wh = warehouse()
meta = wh.meta()
loaded = catalog.loaded_at(meta)
st.caption(
    f"Warehouse `{wh.path}` · last load: {meta.get('last_load', 'unknown')}"
    + (f" at {loaded:%Y-%m-%d %H:%M} UTC" if loaded else "")
    + f" · version {wh.version()[:8]}"
)

st.page_link(
    "pages/operations/imports.py",
    label="Load your own exports: upload, map, validate, see quarantined rows",
    icon=":material/upload_file:",
)

summary = cached(catalog.table_summaries)
st.container(key="data_summary").dataframe(
    summary,
    width="stretch",
    hide_index=True,
    column_config={
        "table": "Table",
        "rows": st.column_config.NumberColumn("Rows", format="localized"),
        "first": st.column_config.DatetimeColumn("First", format="YYYY-MM-DD"),
        "last": st.column_config.DatetimeColumn("Last", format="YYYY-MM-DD"),
        "freshness_days": st.column_config.NumberColumn(
            "Days since last row", help="Today minus the newest row's date"
        ),
    },
)

st.subheader("Browse a table")
table = st.selectbox("Table", TABLES, key="data_table")
rows = summary.filter(summary["table"] == table)["rows"].item()
st.caption(f"{rows:,} rows; the newest 50 below.")
st.container(key="data_sample").dataframe(
    cached(catalog.sample_rows, table=table, limit=50), width="stretch", hide_index=True
)


def _export() -> bytes:
    # runs on its own thread when clicked: its own cursor
    with wh.reading() as cursor:
        return catalog.export_table(cursor, table)


st.download_button(
    f"Download {table}.csv",
    _export,
    file_name=f"{table}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="download_table",
)
