"""Import: upload CRM and product exports, check the mapping, import, and see what was rejected and why."""

import tempfile
from pathlib import Path

import streamlit as st

from analytics.core.errors import RevLensError
from analytics.core.settings import db_path
from analytics.imports import (
    SOURCES,
    describe_file,
    detect_source,
    import_files,
    import_history,
    merge_log,
    preview,
    quality_by_table,
    quarantined_rows,
)
from pages.components.cache import cached, release_warehouse, warehouse
from pages.components.downloads import download_csv

st.title("Import")
st.caption(
    "Load HubSpot and Salesforce exports, touchpoints, product events, tickets, invoices, feedback and cost "
    "sheets. Each file is mapped field by field, validated, merged with the records it duplicates and "
    "upserted in one transaction; rows that fail a check are kept in quarantine with the reason."
)


@st.cache_resource(show_spinner=False)
def _upload_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="revlens-uploads-"))


def _saved(upload) -> Path:
    """The uploaded file on disk (DuckDB streams it from there), under its own name."""
    folder = _upload_dir() / upload.file_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    if not path.exists():
        path.write_bytes(upload.getbuffer())
    return path


uploads = st.file_uploader(
    "Export files",
    accept_multiple_files=True,
    key="import_uploads",
    type=["csv", "txt", "tsv", "xlsx", "parquet", "jsonl", "ndjson", "json"],
    help="CSV in any common dialect (UTF-8 or Latin-1, comma or semicolon), Excel, Parquet or JSON lines.",
)
mapping_upload = st.file_uploader(
    "Mapping file (optional)",
    type=["json"],
    key="mapping_upload",
    help="A copy of a file from data/mappings/ with your own headers; it replaces the default mapping.",
)
mapping = _saved(mapping_upload) if mapping_upload else None

jobs = []  # (source, path, name)
for index, upload in enumerate(uploads or []):
    path = _saved(upload)
    with st.container(border=True):
        st.markdown(f"**{upload.name}**")
        try:
            headers = list(describe_file(path, path.parent).headers)
        except RevLensError as exc:
            st.error(str(exc), icon=":material/error:")
            continue
        detected = detect_source(headers) if headers else None
        source = st.selectbox(
            "Source",
            SOURCES,
            index=SOURCES.index(detected) if detected else None,
            key=f"source_{index}",
            placeholder="Choose what this file is",
        )
        st.caption(
            f"Detected from the headers: {detected}; change it if that is wrong."
            if detected
            else "The headers match no source; choose one."
        )
        if source is None:
            continue
        try:
            cursor = warehouse().cursor()
            try:
                columns, sample = preview(cursor, source, path, mapping, rows=5)
            finally:
                cursor.close()
        except RevLensError as exc:
            st.error(str(exc), icon=":material/error:")
            continue
        left, right = st.columns([1, 2])
        left.container(key=f"mapping_{index}").dataframe(
            columns,
            hide_index=True,
            width="stretch",
            column_config={"column": "Warehouse column", "from": "From file", "required": "Required"},
        )
        right.container(key=f"sample_{index}").dataframe(sample, hide_index=True, width="stretch")
        jobs.append((source, path, upload.name))

if jobs and st.button(
    f"Import {len(jobs)} file{'s' if len(jobs) > 1 else ''}",
    type="primary",
    key="import_files",
    icon=":material/upload:",
):
    # the app holds a read-only connection; close it so this process can write, reads reopen it
    warehouse().close()
    release_warehouse()
    results, failed = [], False
    with st.status("Importing…", expanded=True) as status:
        bar = st.progress(0.0)
        for number, (source, path, name) in enumerate(jobs):

            def show(fraction: float, message: str, number=number, name=name) -> None:
                bar.progress(min((number + fraction) / len(jobs), 1.0), text=f"{name}: {message}")

            try:
                results += import_files(db_path(), source, [path], mapping, progress=show, labels=[name])
            except RevLensError as exc:
                failed = True
                st.error(f"{name}: {exc}", icon=":material/error:")
        status.update(
            label="Import finished with errors" if failed else "Import finished",
            state="error" if failed else "complete",
            expanded=failed,
        )
    if results:
        st.container(key="import_results").dataframe(
            [r.summary() | {"table": r.table, "enriched": r.rows_enriched} for r in results],
            hide_index=True,
            width="stretch",
        )

st.subheader("Quality by table")
quality = cached(quality_by_table)
if quality.is_empty():
    st.info("Nothing imported into this warehouse yet; the demo data has no import history.", icon=":material/info:")
else:
    st.container(key="import_quality").dataframe(
        quality,
        hide_index=True,
        width="stretch",
        column_config={
            "quality_score": st.column_config.ProgressColumn(
                "Quality",
                min_value=0,
                max_value=100,
                format="%.1f",
                help="Row-weighted mean of the imports' scores: 100 × (structure + content + business) / 3",
            ),
        },
    )

history = cached(import_history)
if not history.is_empty():  # no heading over nothing: the section appears with the first import
    st.subheader("Import history")
    st.container(key="import_history").dataframe(history, hide_index=True, width="stretch")

    st.subheader("Quarantined rows")
    with_rejects = history.filter(history["rows_quarantined"] > 0)
    labels = {"All imports": None} | {
        f"{row['started_at']:%Y-%m-%d %H:%M} · {row['source']} · {Path(row['file']).name} "
        f"({row['rows_quarantined']:,})": row["run_id"]
        for row in with_rejects.iter_rows(named=True)
    }
    chosen = st.selectbox("Import", list(labels), key="quarantine_run")
    rejected = cached(quarantined_rows, run_id=labels[chosen])
    st.caption(f"{rejected.height:,} rows; lines are the file's text lines (a CSV header is line 1).")
    st.container(key="quarantine_rows").dataframe(rejected, hide_index=True, width="stretch")
    download_csv(rejected, "quarantine.csv", label="Download quarantined rows", key="download_quarantine")

    st.subheader("Merged duplicates")
    merges = cached(merge_log)
    st.caption(f"{merges.height:,} merged rows, each with the row or record it was merged into.")
    st.container(key="merge_log").dataframe(merges, hide_index=True, width="stretch")
    download_csv(merges, "merges.csv", label="Download merge log", key="download_merges")
