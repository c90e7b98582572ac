"""Write-back from any page: preview, confirm, queue (one call), and the app's delivery worker.

A page that wants to push something to HubSpot renders one button::

    from pages.components.actions import action_button

    action_button("Push to HubSpot", "update_properties", lambda: targets_from(frame), {},
                  preview_frame=frame, title="Push attributed revenue", key="attribution_push")

(``targets`` may be a list or a function returning one, so it is only built when the
dialog opens.) The button opens a dialog (and keeps it open across reruns until it is
confirmed or dismissed); ``confirm_and_enqueue`` opens the same dialog directly. The dialog
shows the preview (counts, skipped contacts, the first request exactly as sent, the page's
own ``preview_frame`` or the kind's preview rows), checks the guard rails and the user, and
queues the action on "Confirm". It works the same for every kind
(:data:`analytics.crm.actions.kinds.KINDS`). The delivery worker (one background thread per
server process, started here through ``st.cache_resource``) sends it.

The queue (SQLAlchemy) and the delivery worker (the HubSpot client) are imported when a
dialog opens or the worker starts, so a page that only shows a button loads neither.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st

from analytics.core import settings
from analytics.core.cells import escape_markdown
from analytics.core.errors import RevLensError
from analytics.core.settings import confirmers, hubspot_token
from pages.components.tables import table

if TYPE_CHECKING:
    import polars as pl

    from analytics.crm.actions.delivery import DeliveryWorker


def current_user() -> str:
    """The signed-in user's email (``st.login``), else ``REVLENS_USER``, else the server's login name."""
    if st.user.get("is_logged_in"):
        return str(st.user.get("email") or st.user.get("name") or "")
    return settings.current_user()


def hubspot_connected() -> bool:
    try:
        return hubspot_token() is not None
    except RevLensError:  # a malformed token: preview-only, and the banner says why
        return False


def preview_only_banner() -> None:
    """The banner pages show when no token is configured (actions can be previewed, not sent)."""
    try:
        hubspot_token()
    except RevLensError as exc:
        st.warning(
            f"HubSpot is not connected, so RevLens runs preview-only: {escape_markdown(exc)}",
            icon=":material/cloud_off:",
        )
        return
    if not hubspot_connected():
        st.warning(
            "HubSpot is not connected, so RevLens runs preview-only: actions can be previewed but nothing "
            "is sent. Set HUBSPOT_ACCESS_TOKEN or add it to .streamlit/secrets.toml.",
            icon=":material/cloud_off:",
        )


@st.cache_resource(show_spinner=False)
def _worker(ops_url: str) -> DeliveryWorker:
    from analytics.crm.actions.delivery import DeliveryWorker, deliverer_from_settings

    return DeliveryWorker(lambda: deliverer_from_settings(), poll_s=5.0)


def delivery_worker() -> DeliveryWorker | None:
    """The app's delivery worker, started once per server process; None without a token.

    ``REVLENS_APP_WORKER=0`` keeps it off (then run ``python -m analytics actions deliver``).
    """
    if not hubspot_connected() or not settings.app_worker_enabled():
        return None
    return _worker(settings.ops_url())


OPEN_DIALOG = "action_dialog_open"


def readable_summary(plan) -> str:
    """What the action does, in words: "Update contact properties: 1,234 contacts in 13 batches"."""
    from analytics.core.labels import label
    from analytics.crm.actions.kinds import KINDS

    kind = KINDS[plan.kind]
    if not kind.needs_targets:
        return f"{label('kind', plan.kind)}: {plan.amount()}."
    batches = len(plan.batches)
    text = f"{label('kind', plan.kind)}: {plan.amount()} in {batches:,} batch{'es' if batches != 1 else ''}"
    if plan.skipped:
        text += f"; {len(plan.skipped):,} skipped (the weekly cap of campaign triggers)"
    if plan.duplicates:
        text += f"; {plan.duplicates:,} duplicate rows dropped"
    return text + "."


def readable_plan_frame(plan):
    """The plan's preview rows as people read them: property labels and formatted values (None: nothing to show).

    A kind without targets previews its own rows (``create_properties``: the properties with their
    type and label); a target's properties read "Label: value", money as dollars.
    """
    import polars as pl

    from analytics.core.money import dollars
    from analytics.core.tables import is_money
    from analytics.crm.actions.kinds import KINDS
    from analytics.crm.hubspot.properties import CUSTOM_PROPERTIES

    kind = KINDS[plan.kind]
    if not kind.needs_targets:
        rows = kind.preview_table(plan.payload)
        return pl.DataFrame(rows) if rows else None
    property_labels = {spec.name: spec.label for spec in CUSTOM_PROPERTIES}

    def sends(target: dict) -> str:
        parts = []
        for name, value in (target.get("properties") or {}).items():
            if isinstance(value, float) and is_money(name):
                value = dollars(value)
            elif isinstance(value, float):
                value = f"{value:,.2f}"
            parts.append(f"{property_labels.get(name, name)}: {value}")
        return "; ".join(parts) or kind.sends(target, plan.payload)

    rows = [
        {"Record": t.get("email") or t.get("hubspot_id"), "Sends": sends(t), "Status": "Send"} for t in plan.targets
    ] + [
        {"Record": t.get("email") or t.get("hubspot_id"), "Sends": sends(t), "Status": "Skipped: weekly cap"}
        for t in plan.skipped
    ]
    return pl.DataFrame(rows) if rows else None


def _dismissed() -> None:
    st.session_state.pop(OPEN_DIALOG, None)


@st.dialog("Review and confirm", width="large", on_dismiss=_dismissed)
def _confirm_dialog(
    kind: str, targets, payload: dict, preview_frame: pl.DataFrame | None, title: str, on_queued=None, within=None
) -> None:
    from analytics.crm.actions import queue as outbox
    from analytics.jobs.sla import track

    st.subheader(title)
    targets = targets() if callable(targets) else targets
    try:
        with track(f"preview.{kind}", "real_time_operations"):  # the SLA's preview
            plan = outbox.plan_action(kind, targets, payload)
    except RevLensError as exc:
        st.error(escape_markdown(exc), icon=":material/error:")
        return
    st.write(readable_summary(plan))
    for violation in plan.violations:
        st.error(violation, icon=":material/block:")
    if plan.skipped:
        st.warning(
            f"{len(plan.skipped):,} contacts already had {outbox.FREQUENCY_CAP} campaign triggers in the "
            "last 7 days and are skipped.",
            icon=":material/do_not_disturb_on:",
        )
    shown = preview_frame() if callable(preview_frame) else preview_frame
    if shown is None:
        shown = readable_plan_frame(plan)
    if shown is not None and not shown.is_empty():
        table(shown, height=240, key="action_preview_table")
    # the first request that writes (a read of what exists, such as a bare GET, says little)
    first = next((r for r in plan.requests(limit=None) if r.method != "GET"), None) or next(
        iter(plan.requests(limit=1)), None
    )
    if first is not None:
        reads = [r for r in plan.requests(limit=None) if r.method == "GET"]
        with st.expander("First request, exactly as it will be sent"):
            if reads and first.method != "GET":
                st.caption(f"Before it, RevLens reads what exists ({reads[0].method} {reads[0].path}).")
            st.code(
                f"{first.method} {first.path}\n"
                + (json.dumps(first.body, indent=2)[:6000] if first.body is not None else ""),
                language="json",
            )
    user = current_user()
    may_confirm = user.strip().lower() in confirmers()
    if not may_confirm:
        st.info(
            f"Only users listed in REVLENS_CONFIRMERS may confirm; {user!r} is not. Ask an admin to add you.",
            icon=":material/lock:",
        )
    if not hubspot_connected():
        st.info("Preview only: HubSpot is not connected.", icon=":material/cloud_off:")
    if st.button(
        "Confirm and queue",
        type="primary",
        disabled=not (plan.ok and may_confirm and hubspot_connected()),
        key="confirm_action",
    ):
        try:
            result = outbox.enqueue(kind, targets, payload, user, plan=plan, within=within)
        except RevLensError as exc:
            st.error(escape_markdown(exc), icon=":material/error:")
            return
        if on_queued is not None:  # e.g. the Health page logs the intervention (logRetentionIntervention)
            on_queued(result, user)
        st.session_state["action_queued"] = result.message()
        st.session_state.pop(OPEN_DIALOG, None)
        delivery_worker()
        st.rerun()


def confirm_and_enqueue(
    kind: str,
    targets: list[dict],
    payload: dict | None = None,
    preview_frame: pl.DataFrame | None = None,
    title: str = "Send to HubSpot",
    on_queued=None,
    within=None,
) -> None:
    """Open the preview/confirm dialog for an action; on confirm it is queued and delivered.

    Parameters
    ----------
    kind : a name in :data:`analytics.crm.actions.kinds.KINDS` (see
        :func:`analytics.crm.actions.queue.enqueue`).
    targets : one dict per record, as the kind reads them (``hubspot_id`` / ``email``,
        ``properties``, ``owner_id``).
    payload : the kind's fields (``list_id``, ``workflow_id``, task ``subject``...).
    preview_frame : what the page wants the user to see per record; default: the plan's own.
    on_queued : called as ``on_queued(result, user)`` once the action is queued
        (:class:`~analytics.crm.actions.queue.EnqueueResult`; also when it was queued before).
    within : called as ``within(conn, action_id, user)`` inside the ops-store transaction that queues
        the action, so what it writes commits with the action or not at all (see ``enqueue``).
    """
    _confirm_dialog(kind, targets, payload or {}, preview_frame, title, on_queued, within)


def action_button(
    label: str,
    kind: str,
    targets,
    payload: dict | None = None,
    preview_frame: pl.DataFrame | None = None,
    title: str | None = None,
    key: str = "action",
    on_queued=None,
    within=None,
    **button_kwargs,
) -> None:
    """A button that opens the preview/confirm dialog for an action (see the module docstring)."""
    if st.button(label, key=key, **button_kwargs):
        st.session_state[OPEN_DIALOG] = key
    if st.session_state.get(OPEN_DIALOG) == key:
        confirm_and_enqueue(kind, targets, payload, preview_frame, title or label, on_queued, within)


def queued_notice() -> None:
    """Show (once) the message of an action just queued from a dialog."""
    message = st.session_state.pop("action_queued", None)
    if message:
        st.success(message, icon=":material/outbox:")
