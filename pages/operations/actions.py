"""Actions: every write-back to HubSpot, its status, attempts and errors; retry, cancel, audit."""

import polars as pl
import streamlit as st

from analytics.core.errors import RevLensError
from analytics.core.labels import label
from analytics.core.labels import labels as labels_of
from analytics.crm.actions import queue as outbox
from analytics.crm.actions.kinds import KINDS
from analytics.crm.hubspot.properties import OBJECT_TYPES, custom_properties
from analytics.ops.events import pending_events
from pages.components.actions import action_button, current_user, delivery_worker, preview_only_banner, queued_notice
from pages.components.cache import warehouse
from pages.components.downloads import download_csv
from pages.components.tables import table

warehouse()  # unused here, but a deep link opened first in a fresh server must go through app.py
st.title("Actions")
st.caption(
    "Write-back to HubSpot: queued from the other pages, delivered by a background worker exactly once, "
    "with retries. Nothing is sent without a confirmed preview."
)
preview_only_banner()
queued_notice()

try:
    engine = outbox.store()
except RevLensError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

worker = delivery_worker()
if worker is not None:
    state = "running" if worker.alive else "stopped"
    st.caption(
        f"Delivery worker {state} since {worker.started_at:%Y-%m-%d %H:%M} UTC · "
        f"{len(worker.delivered.sent)} sent, {len(worker.delivered.failed)} failed by this worker"
        + (f" · last problem: {worker.last_error}" if worker.last_error else "")
    )

with st.container(horizontal=True, vertical_alignment="bottom", key="actions_filters"):
    statuses = st.multiselect(
        "Status",
        outbox.STATUSES,
        key="actions_status",
        placeholder="All statuses",
        format_func=lambda name: label("status", name),
    )
    kinds = st.multiselect(
        "Kind", list(KINDS), format_func=lambda name: label("kind", name), key="actions_kind", placeholder="All kinds"
    )
    created_by = st.text_input("Created by", key="actions_user", placeholder="Anyone").strip()
    st.button("Refresh", icon=":material/refresh:", key="actions_refresh")

queue = outbox.list_actions(engine, created_by=created_by or None, limit=2000)
if statuses:
    queue = queue.filter(pl.col("status").is_in(statuses))
if kinds:
    queue = queue.filter(pl.col("kind").is_in(kinds))

counts = dict(queue.group_by("status").len().iter_rows())
for column, status in zip(st.columns(len(outbox.STATUSES)), outbox.STATUSES):
    column.metric(label("status", status), f"{counts.get(status, 0):,}")

queue_tab, audit_tab, events_tab = st.tabs(["Queue", "Audit log", "Events"])

with queue_tab:
    shown = (
        queue.with_columns(
            (
                pl.col("batches_sent") / pl.when(pl.col("batches_total") > 0).then(pl.col("batches_total")).otherwise(1)
            ).alias("progress")
        )
        .select(
            "id",
            "kind",
            "status",
            "progress",
            "attempts",
            "target_count",
            "skipped_count",
            "last_error",
            "created_by",
            "created_at",
            "sent_at",
            "next_attempt_at",
            "topic",
        )
        .with_columns(pl.col("kind").replace(labels_of("kind", queue["kind"].unique().to_list())))
    )
    table(
        shown,
        key="actions_queue_table",
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d"),
            "kind": "Kind",
            "status": "Status",
            "attempts": "Attempts",
            "created_by": "Created by",
            "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
            "sent_at": st.column_config.DatetimeColumn("Sent (UTC)", format="YYYY-MM-DD HH:mm"),
            "topic": "Event topic",
            "progress": st.column_config.ProgressColumn("Batches sent", min_value=0.0, max_value=1.0, format="percent"),
            "target_count": st.column_config.NumberColumn("Records", format="localized"),
            "skipped_count": st.column_config.NumberColumn("Skipped (cap)", format="localized"),
            "last_error": st.column_config.TextColumn("Last error", width="large"),
            "next_attempt_at": st.column_config.DatetimeColumn("Next retry (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        },
    )
    download_csv(shown, "actions.csv", key="actions_download")

    if queue.height:
        # no status in the label: it changes while the page is open, the choice should not
        def _reach(row: dict) -> str:  # an action of a kind no longer registered still shows
            kind = KINDS.get(row["kind"])
            if kind is not None and not kind.needs_targets:
                return ""
            return f" · {row['target_count']:,} {kind.noun if kind else 'records'}"

        labels = {
            row["id"]: f"#{row['id']} · {label('kind', row['kind'])}{_reach(row)} · {row['created_by']}"
            for row in queue.iter_rows(named=True)
        }
        chosen = st.selectbox("Inspect an action", list(labels), format_func=labels.get, key="actions_chosen")
        chosen_row = queue.filter(pl.col("id") == chosen).row(0, named=True)
        left, right = st.columns(2)
        user = current_user()
        if left.button(
            "Retry", icon=":material/replay:", disabled=chosen_row["status"] != "failed", key="actions_retry"
        ):
            try:
                outbox.retry_action(chosen, user, engine)
                st.toast(f"Action #{chosen} is pending again.")
                st.rerun()
            except RevLensError as exc:
                st.error(str(exc), icon=":material/error:")
        if right.button(
            "Cancel",
            icon=":material/cancel:",
            disabled=chosen_row["status"] in ("sent", "cancelled"),
            key="actions_cancel",
        ):
            try:
                outbox.cancel_action(chosen, user, engine)
                st.toast(f"Action #{chosen} is cancelled.")
                st.rerun()
            except RevLensError as exc:
                st.error(str(exc), icon=":material/error:")
        st.markdown("**Batches** (at most 100 records each)")
        table(outbox.action_batches_frame(chosen, engine), key="actions_batches")
        st.markdown("**History**")
        table(outbox.audit_frame(engine, action_id=chosen), key="actions_history")
    else:
        st.info(
            "No actions match. Actions are queued from the Attribution, ROI and other pages, or with "
            "`python -m analytics actions enqueue`.",
            icon=":material/inbox:",
        )

with audit_tab:
    audit = outbox.audit_frame(engine, limit=2000)
    table(audit, key="actions_audit")
    download_csv(audit, "audit_log.csv", key="audit_download")

with events_tab:
    st.caption(
        "Events not yet published to Kafka (all of them when REVLENS_KAFKA_BOOTSTRAP is not set), "
        "in the spec's envelope."
    )
    events = pending_events(engine, limit=500)
    if events:
        table(
            pl.DataFrame(
                [{k: e[k] for k in ("id", "topic", "event_type", "created_at", "publish_error")} for e in events]
            ),
            key="actions_events",
            column_config={
                "id": st.column_config.NumberColumn("#", format="%d"),
                "event_type": "Event",
                "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
                "publish_error": "Why not published",
            },
        )
    else:
        st.info("Every event is published.", icon=":material/check_circle:")

st.subheader("HubSpot setup")
st.caption(
    "Create the custom properties RevLens writes on contacts, companies or deals (only those missing in HubSpot). "
    "Delivery also creates them before the first update that writes them."
)
with st.container(horizontal=True, vertical_alignment="bottom", key="actions_setup"):
    object_type = st.selectbox(
        "Object type",
        list(OBJECT_TYPES),
        format_func=lambda name: label("object_type", name),
        key="actions_properties_object",
    )
    names = list(custom_properties(object_type))
    action_button(
        "Create RevLens properties in HubSpot…",
        "create_properties",
        [],
        {"object_type": object_type, "names": names},
        title=f"Create RevLens's custom {OBJECT_TYPES[object_type]} properties",
        key="actions_properties",
        icon=":material/add_box:",
        help=", ".join(spec.label for spec in custom_properties(object_type).values()),
    )
