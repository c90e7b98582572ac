"""One vocabulary: the label a person reads for every machine name RevLens shows.

Pages, charts, tables, the app's downloads and the Excel workbook show :func:`label`;
the CLI's CSV and JSON keep the machine names, so scripts do not break. A name without
an entry reads as the label the data brought (:data:`LEARNED`: a channel only the user's
data has reads as its export's value, "Content Syndication"), else as itself made human
(:func:`humanize`: ``content_syndication`` → "Content syndication").

Each vocabulary is a ``kind``: ``channel``, ``model``, ``dimension``, ``cost_category``,
``allocation``, ``status`` (of an action), ``kind`` (of an action), ``topic``, ``band``,
``column``. :func:`relabel_columns` turns a frame's headers into labels for a download.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

VOCABULARY: dict[str, dict[str, str]] = {
    "channel": {
        "email": "Email",
        "paid_search": "Paid search",
        "paid_social": "Paid social",
        "organic_search": "Organic search",
        "webinar": "Webinar",
        "events": "Events",
        "display": "Display",
        "direct": "Direct",
        "(none)": "No channel",
    },
    "model": {
        "first_touch": "First touch",
        "last_touch": "Last touch",
        "last_non_direct": "Last non-direct",
        "linear": "Linear",
        "time_decay": "Time decay",
        "position_based": "Position-based (U)",
        "w_shaped": "W-shaped",
        "full_path": "Full path",
        "markov": "Markov chain",
        "shapley": "Shapley",
    },
    "dimension": {"channel": "Channel", "campaign": "Campaign", "touchpoint_type": "Touch type"},
    "cost_category": {
        "media_spend": "Media spend",
        "creative_production": "Creative production",
        "platform_fees": "Platform fees",
        "operational_overhead": "Operational overhead",
    },
    "allocation": {
        "as_booked": "As booked on each cost",
        "headcount": "By people hours (headcount)",
        "time_based": "By active days (time-based)",
    },
    "status": {
        "pending": "Pending",
        "sending": "Sending",
        "sent": "Sent",
        "failed": "Failed",
        "cancelled": "Cancelled",
        "running": "Running",
        "succeeded": "Succeeded",
        "not started": "Not started",
        "active": "Active",
        "ended": "Ended",
    },
    "kind": {
        "update_properties": "Update contact properties",
        "update_company_properties": "Update company properties",
        "update_deal_properties": "Update deal properties",
        "add_to_list": "Add contacts to a list",
        "enroll_workflow": "Enroll contacts in a workflow",
        "create_task": "Create tasks for owners",
        "create_properties": "Create RevLens properties",
    },
    "topic": {
        "lead-capture": "Lead capture",
        "campaign-performance": "Campaign performance",
        "customer-health": "Customer health",
        "revenue-attribution": "Revenue attribution",
    },
    "band": {"healthy": "Healthy", "at_risk": "At risk", "critical": "Critical"},
    "column": {
        "campaign_id": "Campaign ID",
        "campaign_name": "Campaign",
        "campaign": "Campaign",
        "channel": "Channel",
        "model": "Model",
        "account_id": "Account ID",
        "account_name": "Account",
        "contact_id": "Contact ID",
        "opportunity_id": "Deal ID",
        "rep_id": "Rep ID",
        "hubspot_id": "HubSpot ID",
        "attributed_conversions": "Attributed conversions",
        "attributed_revenue": "Attributed revenue",
        "total_investment": "Total investment",
        "net_revenue": "Net revenue",
        "roi_percentage": "ROI (%)",
        "roas": "ROAS",
        "cac": "CAC",
        "payback_months": "Payback (months)",
        "payback_period": "Payback",
        "confidence_level": "Confidence",
        "confidence_reason": "Why",
        "revenue_low": "Revenue, low (95%)",
        "revenue_high": "Revenue, high (95%)",
        "conversions_low": "Conversions, low (95%)",
        "conversions_high": "Conversions, high (95%)",
        "revenue_share": "Share of revenue",
        "conversion_share": "Share of conversions",
        "quarantine_reason": "Why it was quarantined",
        "touches_on_value": "Touches on it",
        "close_date": "Close date",
        "month": "Month",
    },
}


# Labels the data brings: a channel only the user's data has reads as the value in its export
# ("Email Nurture"). The app learns them from the warehouse (``channel_labels``, kept by the
# importer) at every run; they come after VOCABULARY and before :func:`humanize`.
LEARNED: dict[str, dict[str, str]] = {}


def learn(kind: str, names: Mapping[str, str]) -> None:
    """Use ``names`` (name -> label) for ``kind`` wherever the vocabulary has no entry."""
    LEARNED[kind] = dict(names)


def humanize(name: str) -> str:
    """A machine name as words: ``content_syndication`` → "Content syndication"."""
    words = str(name).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else str(name)


def label(kind: str, name: str | None) -> str:
    """The label of ``name`` in vocabulary ``kind``; a name without an entry reads as :func:`humanize` of it."""
    if name is None:
        return "—"
    return VOCABULARY.get(kind, {}).get(name) or LEARNED.get(kind, {}).get(name) or humanize(name)


def labels(kind: str, names: Iterable[str]) -> dict[str, str]:
    """``{name: label}`` for each name (for ``format_func`` and legend maps)."""
    return {name: label(kind, name) for name in names}


def relabel_columns(columns: Iterable[str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{column: header}`` for a download's header row (``extra`` wins over the vocabulary)."""
    extra = extra or {}
    return {column: extra.get(column) or label("column", column) for column in columns}
