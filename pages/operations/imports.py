"""Import: upload CRM and product exports, check the mapping, import, see what was rejected and why, recheck it."""

import tempfile
from pathlib import Path

import streamlit as st

from analytics.core.cells import escape_markdown
from analytics.core.errors import RevLensError
from analytics.core.labels import label
from analytics.core.numbers import DASH
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
    quarantine_counts,
    quarantined_rows,
    recheck_quarantine,
)
from analytics.warehouse.connection import WarehouseBusy
from pages.components.cache import cached, warehouse
from pages.components.downloads import download_csv
from pages.components.tables import column_config_for

st.title("Import")
st.caption(
    "Load HubSpot and Salesforce exports, touchpoints, product events, tickets, invoices, feedback, email and "
    "content events, sales reps and cost sheets. Each file is mapped field by field, validated, merged with the "
    "records it duplicates and upserted in one transaction; rows that fail a check are kept in quarantine with "
    "the reason, and can be checked again once what they miss has been imported."
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


def _discard(path: Path) -> None:
    """Delete an upload's copy (and its folder, and the Excel sheet's CSV beside it) after its import."""
    import shutil

    shutil.rmtree(path.parent, ignore_errors=True)


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


def _show_results(results) -> None:
    """Counts per file (money for cost sheets), and each warning in words."""
    table = []
    for r in results:
        row = r.summary() | {"table": r.table, "enriched": r.rows_enriched}
        row.pop("warnings", None)
        table.append(row)
    st.container(key="import_results").dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={column: label("column", column) for column in (table[0] if table else {})},
        placeholder=DASH,
    )
    for r in results:
        for warning in r.warnings:
            st.warning(escape_markdown(f"{r.file}: {warning}"), icon=":material/new_label:")


jobs = []  # (source, path, name)
uploaded_ids = {}  # path -> the upload's file_id
imported = st.session_state.setdefault("imported_uploads", set())  # file_ids imported (their copy deleted)
for index, upload in enumerate(uploads or []):
    if upload.file_id in imported:
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(upload.name)}**")
            st.caption("Imported (its copy on the server is deleted); remove it above to import it again.")
        continue
    path = _saved(upload)
    uploaded_ids[path] = upload.file_id
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(upload.name)}**")
        try:
            headers = list(describe_file(path, path.parent, name=upload.name).headers)
        except RevLensError as exc:
            st.error(escape_markdown(exc), icon=":material/error:")
            continue
        detected = detect_source(headers) if headers else None
        if st.session_state.get(f"source_file_{index}") != upload.file_id:
            # another file in this place: its own detection, not the previous file's choice
            st.session_state.pop(f"source_{index}", None)
            st.session_state[f"source_file_{index}"] = upload.file_id
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
            with warehouse().reading() as cursor:
                columns, sample = preview(cursor, source, path, mapping, rows=5, file_label=upload.name)
        except WarehouseBusy as exc:
            st.info(escape_markdown(f"The preview waits for the warehouse: {exc}"), icon=":material/sync:")
            continue
        except RevLensError as exc:
            st.error(escape_markdown(exc), icon=":material/error:")
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
    results, failed = [], False
    with st.status("Importing…", expanded=True) as status:
        bar = st.progress(0.0)
        for number, (source, path, name) in enumerate(jobs):

            def show(fraction: float, message: str, number=number, name=name) -> None:
                bar.progress(min((number + fraction) / len(jobs), 1.0), text=f"{name}: {message}")

            try:
                # a writer: other pages stop reading and let go of the file; it waits for them if it must
                results += import_files(
                    db_path(), source, [path], mapping, progress=show, labels=[name], on_wait=status.write
                )
            except RevLensError as exc:
                failed = True
                st.error(escape_markdown(str(exc) if name in str(exc) else f"{name}: {exc}"), icon=":material/error:")
            else:  # imported: the upload's copy on disk is not kept
                imported.add(uploaded_ids[path])
                _discard(path)
        status.update(
            label="Import finished with errors" if failed else "Import finished",
            state="error" if failed else "complete",
            expanded=failed,
        )
    if results:
        _show_results(results)


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
                help="Row-weighted mean of the imports' scores: 100 × validity × (structure + content + business) / 3 "
                "(validity: the share of rows that load; docs/import.md)",
            ),
        },
    )

history = cached(import_history)
if not history.is_empty():  # no heading over nothing: the section appears with the first import
    st.subheader("Import history")
    st.container(key="import_history").dataframe(
        history, hide_index=True, width="stretch", column_config=column_config_for(history), placeholder=DASH
    )

    st.subheader("Quarantined rows")
    if report := st.session_state.pop("recheck_report", None):
        st.success(report, icon=":material/task_alt:")
    waiting = cached(quarantine_counts)
    if waiting:
        left, right = st.columns([2, 1], vertical_alignment="bottom")
        only = left.selectbox(
            "Recheck",
            [None, *waiting],
            format_func=lambda s: (
                f"Every source ({sum(waiting.values()):,} rows)" if s is None else f"{s} ({waiting[s]:,})"
            ),
            key="recheck_source",
            help="Check the rows still in quarantine again: those that pass now (their campaign, contact or "
            "account was imported since) are loaded; the others keep their reason.",
        )
        if right.button("Recheck quarantined rows", key="recheck_quarantine", icon=":material/refresh:"):
            with st.status("Rechecking…", expanded=True) as status:
                bar = st.progress(0.0)
                try:
                    rechecked = recheck_quarantine(
                        db_path(),
                        only,
                        progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
                        on_wait=status.write,
                    )
                except RevLensError as exc:
                    st.error(escape_markdown(exc), icon=":material/error:")
                    status.update(label="Recheck failed", state="error")
                else:
                    loaded = sum(r.rows_loaded + r.rows_updated + r.rows_merged for r in rechecked)
                    still = sum(r.rows_quarantined for r in rechecked)
                    # the page again, on the new data (history, quality and the quarantine below)
                    st.session_state["recheck_report"] = (
                        f"Rechecked {loaded + still:,} quarantined rows: {loaded:,} loaded, {still:,} still in "
                        "quarantine with their reasons."
                    )
                    st.rerun()
    else:
        st.caption("No rows are waiting in quarantine.")
    with_rejects = history.filter(history["rows_quarantined"] > 0)
    labels = {"All imports": None} | {
        f"{row['started_at']:%Y-%m-%d %H:%M} · {row['source']} · {Path(row['file']).name} "
        f"({row['rows_quarantined']:,})": row["run_id"]
        for row in with_rejects.iter_rows(named=True)
        if row["kind"] != "recheck"
    }
    chosen = st.selectbox("Import", list(labels), key="quarantine_run")
    rejected = cached(quarantined_rows, run_id=labels[chosen])
    st.caption(
        f"{rejected.height:,} rows still in quarantine; lines are the file's text lines (a CSV header is line 1)."
    )
    st.container(key="quarantine_rows").dataframe(
        rejected, hide_index=True, width="stretch", column_config=column_config_for(rejected), placeholder=DASH
    )
    download_csv(rejected, "quarantine.csv", label="Download quarantined rows", key="download_quarantine")

    st.subheader("Merged duplicates")
    merges = cached(merge_log)
    st.caption(f"{merges.height:,} merged rows, each with the row or record it was merged into.")
    st.container(key="merge_log").dataframe(
        merges, hide_index=True, width="stretch", column_config=column_config_for(merges), placeholder=DASH
    )
    download_csv(merges, "merges.csv", label="Download merge log", key="download_merges")
