"""Data: what the warehouse holds, how fresh it is (stale tables flagged), samples and downloads of every table."""

import polars as pl
import streamlit as st

from analytics.core.labels import label
from analytics.core.settings import stale_after_days
from analytics.warehouse import catalog
from analytics.warehouse.schema import TABLES
from pages.components.cache import cached, warehouse
from pages.components.tables import table

st.title("Data")
wh = warehouse()
meta = wh.meta()
loaded = catalog.loaded_at(meta)
st.caption(
    f"Warehouse {wh.path} · last load: {meta.get('last_load', 'unknown')}"
    + (f" at {loaded:%Y-%m-%d %H:%M} UTC" if loaded else "")
    + f" · version {wh.version()[:8]}"
)

st.page_link(
    "pages/operations/imports.py",
    label="Load your own exports: upload, map, validate, see quarantined rows",
    icon=":material/upload_file:",
)

summary = cached(catalog.table_summaries)
thresholds = st.session_state.setdefault("data_stale_after", catalog.stale_thresholds(stale_after_days()))
with st.expander("When is a table stale?", key="data_thresholds_expander"):
    st.caption(
        "Days since a table's newest row after which it is flagged. Change them here for this session; set "
        "REVLENS_STALE_DAYS (e.g. touchpoints=3,invoices=60, or one number for every table) to keep them."
    )
    edited = st.data_editor(
        placeholder="—",
        data=pl.DataFrame(
            {
                "table": [label("table", t) for t in thresholds],
                "stale_after_days": list(thresholds.values()),
                "_table": list(thresholds),
            }
        ),
        hide_index=True,
        disabled=["table"],
        column_order=["table", "stale_after_days"],
        column_config={
            "table": "Table",
            "stale_after_days": st.column_config.NumberColumn("Stale after (days)", min_value=0, step=1, format="%d"),
        },
        key="data_thresholds",
    )
    thresholds = {
        name: int(days) for name, days in zip(edited["_table"], edited["stale_after_days"]) if days is not None
    }
    st.session_state["data_stale_after"] = thresholds

flagged = catalog.freshness(summary, thresholds)
stale = flagged.filter(pl.col("stale").fill_null(False))
if stale.height:
    st.warning(
        "Stale: "
        + "; ".join(
            f"{label('table', row['table'])} (newest row {row['freshness_days']} days ago, limit "
            f"{row['stale_after_days']})"
            for row in stale.iter_rows(named=True)
        )
        + ". Load newer exports on the Import page, or check the source's export schedule.",
        icon=":material/schedule:",
    )
with st.container(key="data_summary"):
    table(
        flagged.select(
            pl.col("table").replace_strict({t: label("table", t) for t in TABLES}, default=pl.col("table")),
            "rows",
            "first",
            "last",
            "freshness_days",
            "stale_after_days",
            pl.when(pl.col("stale"))
            .then(pl.lit("Stale"))
            .when(pl.col("stale").is_not_null())
            .then(pl.lit("Fresh"))
            .otherwise(None)
            .alias("freshness"),
        ),
        key="data_summary_table",
        relabel=False,
        column_config={
            "table": "Table",
            "rows": st.column_config.NumberColumn("Rows", format="localized"),
            "first": st.column_config.DatetimeColumn("First", format="YYYY-MM-DD"),
            "last": st.column_config.DatetimeColumn("Last", format="YYYY-MM-DD"),
            "freshness_days": st.column_config.NumberColumn(
                "Days since last row", help="Today minus the newest row's date"
            ),
            "stale_after_days": st.column_config.NumberColumn("Stale after (days)", format="%d"),
            "freshness": "Freshness",
        },
    )

st.subheader("Browse a table")
chosen = st.selectbox("Table", TABLES, key="data_table", format_func=lambda t: label("table", t))
rows = summary.filter(summary["table"] == chosen)["rows"].item()
st.caption(f"{rows:,} rows; the newest 50 below.")
with st.container(key="data_sample"):
    table(cached(catalog.sample_rows, table=chosen, limit=50), key="data_sample_table")


def _export() -> bytes:
    # runs on its own thread when clicked: its own cursor
    with wh.reading() as cursor:
        return catalog.export_table(cursor, chosen)


st.download_button(
    f"Download {label('table', chosen).lower()} (CSV, the warehouse's columns)",
    _export,
    file_name=f"{chosen}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="download_table",
)
