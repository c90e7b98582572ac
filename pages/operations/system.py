"""Operations → System: the batch schedule, its runs, the SLA board, data freshness and the outboxes."""

import threading
from datetime import datetime, timedelta

import polars as pl
import streamlit as st

from analytics.core.errors import RevLensError
from analytics.core.labels import label, labels
from analytics.core.numbers import DASH
from analytics.core.settings import db_path, exports_dir
from analytics.crm.actions import queue as outbox
from analytics.jobs import sla
from analytics.jobs.catalog import all_jobs
from analytics.jobs.runner import history, last_results, reap_dead_runs, run_job
from analytics.jobs.schedule import load_schedule
from analytics.ops.consumers import recent_notifications
from analytics.ops.events import pending_events
from analytics.ops.store import ops_engine, utcnow
from analytics.warehouse import catalog
from pages.components.cache import cached, warehouse

warehouse()  # a deep link opened first in a fresh server goes through app.py
st.title("System")
st.caption(
    "The batch schedule and its runs, every operation against its SLA target, data freshness and the outboxes. "
    "Jobs run under `python -m analytics jobs serve` (or cron: `jobs crontab`)."
)

try:
    engine = ops_engine()
    schedule = load_schedule()
except RevLensError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

SLA_COLUMNS = {
    "target_ms": st.column_config.NumberColumn("Target (ms)", format="%d"),
    "samples": "Samples",
    "p50_ms": st.column_config.NumberColumn("p50 (ms)", format="%.0f"),
    "p95_ms": st.column_config.NumberColumn("p95 (ms)", format="%.0f"),
    "p99_ms": st.column_config.NumberColumn("p99 (ms)", format="%.0f"),
    "max_ms": st.column_config.NumberColumn("Max (ms)", format="%.0f"),
    "violations": "Violations",
    "errors": "Errors",
    "within_target_pct": st.column_config.NumberColumn("Within target", format="%.1f%%"),
}
now = utcnow()
board = sla.board(engine, now - timedelta(days=30))
recent = [v for v in board["violations"] if v["at"] >= (now - timedelta(hours=24)).isoformat()]
if recent:
    worst = max(recent, key=lambda v: v["duration_ms"] / v["target_ms"])
    st.warning(
        f"{len(recent):,} SLA violations in the last 24 hours; the worst: {worst['operation']} took "
        f"{worst['duration_ms']:,.0f} ms against {worst['target_ms']:,.0f} ms. Details under SLA below.",
        icon=":material/warning:",
    )
failed_recently = [
    r
    for r in history(engine, limit=200)
    if r["status"] == "failed" and r["started_at"] >= (now - timedelta(days=1)).isoformat()
]
if failed_recently:
    attempts = "attempt" if len(failed_recently) == 1 else "attempts"
    failed_jobs = ", ".join(sorted({label("job", r["job"]) for r in failed_recently}))
    st.error(
        f"{len(failed_recently):,} job {attempts} failed in the last 24 hours ({failed_jobs}); retry them under Runs.",
        icon=":material/error:",
    )
if st.session_state.get("system_started"):
    st.success(st.session_state.pop("system_started"), icon=":material/play_arrow:")

schedule_tab, runs_tab, sla_tab, data_tab, outbox_tab = st.tabs(
    ["Schedule", "Runs", "SLA", "Data freshness", "Outboxes"]
)


def _start(name: str, params: dict) -> None:
    """Run the job in a background thread: the lock refuses it if it is already running."""
    threading.Thread(
        target=run_job,
        args=(name, params),
        kwargs={"engine": engine, "db": db_path(), "exports": exports_dir()},
        name=f"page-run-{name}",
        daemon=True,
    ).start()
    st.session_state["system_started"] = f"Started {name}; its run appears under Runs (refresh to follow it)."


with schedule_tab:
    jobs = all_jobs()
    rows = []
    for name, job in jobs.items():
        if name.startswith("_"):
            continue
        entry = schedule.entry(name)
        last = history(engine, name, 1)
        stored = last_results(engine, name)
        rows.append(
            {
                "job": name,
                "schedule": entry.cron if entry else "not scheduled",
                "next_run": entry.next_run(now) if entry else None,
                "sla_class": label("sla_class", job.sla_class),
                "last_status": label("job_status", last[0]["status"] if last else "never run"),
                "last_run": datetime.fromisoformat(last[0]["started_at"]) if last else None,
                "figures_from": stored["created_at"] if stored else None,
                "what": job.summary_line,
            }
        )
    st.caption(f"From {schedule.path} · time zone {schedule.timezone} · next runs in that time zone")
    st.container(key="system_schedule").dataframe(
        pl.DataFrame(rows).with_columns(pl.col("job").map_elements(lambda n: label("job", n), pl.String)),
        hide_index=True,
        column_config={
            "job": "Job",
            "schedule": "Cron",
            "next_run": st.column_config.DatetimeColumn("Next run", format="YYYY-MM-DD HH:mm z"),
            "sla_class": "SLA class",
            "last_status": "Last run",
            "last_run": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm", width="medium"),
            "figures_from": st.column_config.DatetimeColumn("Stored figures from", format="YYYY-MM-DD HH:mm"),
            "what": "What it does",
        },
        placeholder=DASH,
    )
    picked = st.selectbox(
        "Job", [r["job"] for r in rows], key="system_job", format_func=lambda name: label("job", name)
    )
    stored = last_results(engine, picked)
    c1, c2 = st.columns([1, 3])
    if c1.button("Run now", key="system_run_now", icon=":material/play_arrow:"):
        _start(picked, {})
        st.rerun()
    if stored:
        c2.caption(
            f"Figures of the last successful run ({stored['created_at']:%Y-%m-%d %H:%M} UTC, run {stored['run_id']}):"
        )
        with st.expander("Stored figures", expanded=False):
            st.json(stored["summary"], expanded=1)
    else:
        c2.caption("No stored figures yet: the job has not succeeded.")

with runs_tab:
    reap_dead_runs(engine)
    runs = history(engine, limit=500)
    if not runs:
        st.info("No job has run yet. Run one here, or `python -m analytics jobs run NAME`.", icon=":material/info:")
    else:
        frame = pl.DataFrame(
            [
                {
                    "id": r["id"],
                    "job": label("job", r["job"]),
                    "trigger": r["trigger"],
                    "attempt": r["attempt"],
                    "started_at": datetime.fromisoformat(r["started_at"]),
                    "duration_s": r["duration_s"],
                    "status": label("job_status", r["status"]),
                    "rows": r["rows"],
                    "outputs": ", ".join(r["outputs"]),
                    "error": r["error"],
                }
                for r in runs
            ],
            infer_schema_length=None,
        )
        only_failed = st.toggle("Failures only", key="system_failed_only")
        problems = [label("job_status", "failed"), label("job_status", "refused")]
        shown = frame.filter(pl.col("status").is_in(problems)) if only_failed else frame
        st.container(key="system_runs").dataframe(
            shown,
            hide_index=True,
            column_config={
                "id": "Run",
                "job": "Job",
                "trigger": "Trigger",
                "attempt": "Attempt",
                "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                "duration_s": st.column_config.NumberColumn("Seconds", format="%.1f"),
                "status": "Status",
                "rows": "Rows",
                "outputs": "Files",
                "error": "Error",
            },
            placeholder=DASH,
        )
        failed = [r for r in runs if r["status"] == "failed"]
        if failed:
            choice = st.selectbox(
                "Failed run to retry",
                [r["id"] for r in failed],
                format_func=lambda run_id: next(
                    f"run {r['id']} · {label('job', r['job'])} · {r['started_at']} · {(r['error'] or '')[:80]}"
                    for r in failed
                    if r["id"] == run_id
                ),
                key="system_retry_pick",
            )
            if st.button("Retry", key="system_retry", icon=":material/replay:", type="primary"):
                run = next(r for r in failed if r["id"] == choice)
                _start(run["job"], {k: v for k, v in run["parameters"].items() if v not in (None, "")})
                st.rerun()

with sla_tab:
    st.caption(
        "Targets (the spec's IntegrationSLA): real-time operations 200 ms (a page run, a preview), batch operations 5 s, "
        "report generation 30 s, data synchronization 1 min · the last 30 days"
    )
    classes = pl.DataFrame(board["classes"])
    st.container(key="system_sla_classes").dataframe(
        classes.with_columns(pl.col("sla_class").replace_strict(labels("sla_class", classes["sla_class"]))),
        hide_index=True,
        column_config={**SLA_COLUMNS, "sla_class": "SLA class"},
        placeholder=DASH,
    )
    if board["operations"]:
        st.markdown("**Per operation**")
        operations = pl.DataFrame(board["operations"])
        st.container(key="system_sla_operations").dataframe(
            operations.with_columns(pl.col("sla_class").replace_strict(labels("sla_class", operations["sla_class"]))),
            hide_index=True,
            column_config={**SLA_COLUMNS, "operation": "Operation", "sla_class": "SLA class"},
            placeholder=DASH,
        )
    a, b = st.columns(2)
    with a:
        st.markdown("**Availability**")
        for item in board["availability"]:
            value = "no checks yet" if item["measured_pct"] is None else f"{item['measured_pct']:.2f}%"
            st.metric(
                label("sla_service", item["service"]),
                value,
                f"target {item['target_pct']:g}% · {item['checks']:,} checks, {item['failed']:,} failed",
                delta_color="off",
                border=True,
            )
    with b:
        st.markdown("**Accuracy (reconciliation)**")
        for item in board["accuracy"]:
            value = "not checked yet" if item["measured_pct"] is None else f"{item['measured_pct']:.2f}%"
            st.metric(
                label("sla_accuracy", item["target"]),
                value,
                f"target {item['target_pct']:g}% · {item['checks']:,} checks",
                delta_color="off",
                border=True,
            )
    st.markdown(f"**Violations** ({len(board['violations']):,})")
    if board["violations"]:
        st.container(key="system_sla_violations").dataframe(
            pl.DataFrame(board["violations"]).reverse(), hide_index=True, placeholder=DASH
        )
    else:
        st.caption("None in the last 30 days.")

with data_tab:
    fresh = cached(catalog.table_summaries)
    st.container(key="system_freshness").dataframe(
        fresh.with_columns(pl.col("table").map_elements(lambda t: label("table", t), pl.String)),
        hide_index=True,
        column_config={
            "table": "Table",
            "rows": st.column_config.NumberColumn("Rows", format="localized"),
            "first": st.column_config.DatetimeColumn("First", format="YYYY-MM-DD"),
            "last": st.column_config.DatetimeColumn("Newest row", format="YYYY-MM-DD"),
            "freshness_days": st.column_config.NumberColumn("Days since the newest row", format="%d"),
        },
        placeholder=DASH,
    )
    st.caption(f"Warehouse version {warehouse().version()} · freshness counted to today")

with outbox_tab:
    actions = outbox.list_actions(engine, limit=10_000)
    counts = actions.group_by("status").len().sort("status") if actions.height else pl.DataFrame()
    unpublished = pending_events(engine, 10_000)
    errors = [e for e in unpublished if e["publish_error"]]
    o1, o2, o3 = st.columns(3)
    o1.metric("Write-back actions", f"{actions.height:,}", border=True)
    o2.metric("Events not yet published", f"{len(unpublished):,}", border=True)
    oldest = min((e["created_at"] for e in unpublished), default=None)
    o3.metric(
        "Publish errors",
        f"{len(errors):,}",
        f"oldest unpublished {oldest:%Y-%m-%d %H:%M}" if oldest else None,
        delta_color="off",
        border=True,
    )
    if counts.height:
        st.container(key="system_actions").dataframe(
            counts.rename({"status": "Status", "len": "Actions"}), hide_index=True, placeholder=DASH
        )
    notes = recent_notifications(engine, 50)
    st.markdown(
        "**Notifications** (the alert-system consumer: `python -m analytics events consume --group alert-system`)"
    )
    if notes:
        st.container(key="system_notifications").dataframe(
            pl.DataFrame(notes).select("created_at", "severity", "kind", "message", "webhook_status"),
            hide_index=True,
            placeholder=DASH,
        )
    else:
        st.caption("None yet.")
    if errors:
        st.markdown("**Publish errors**")
        st.container(key="system_publish_errors").dataframe(
            pl.DataFrame(
                [{k: e[k] for k in ("id", "topic", "event_type", "created_at", "publish_error")} for e in errors]
            ),
            hide_index=True,
            placeholder=DASH,
        )
