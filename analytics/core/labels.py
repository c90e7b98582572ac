"""One vocabulary: the label a person reads for every machine name RevLens shows.

Pages, charts, tables, the app's downloads and the Excel workbook show :func:`label`;
the CLI's CSV and JSON keep the machine names, so scripts do not break. A name without
an entry reads as the label the data brought (:data:`LEARNED`: a channel only the user's
data has reads as its export's value, "Content Syndication"), else as itself made human
(:func:`humanize`: ``content_syndication`` → "Content syndication").

Each vocabulary is a ``kind``: ``channel``, ``model``, ``dimension``, ``cost_category``,
``allocation``, ``status`` (of an action), ``kind`` (of an action), ``topic``, ``band``,
``column``, and for customer health ``component``, ``trigger``, ``risk_level``,
``intervention``, ``outcome``, ``driver``. :func:`relabel_columns` turns a frame's headers into labels for a download.
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
    "tier": {"sql": "SQL", "mql": "MQL", "nurture": "Nurture"},
    "stage": {
        "lead": "Lead",
        "mql": "MQL",
        "sql": "SQL",
        "opportunity": "Opportunity",
        "won": "Won",
    },
    "routing_method": {"round_robin": "Strict round robin", "weighted": "Weighted", "load_based": "Load-based"},
    "match_accounts": {
        "customers": "Customer accounts go to their owner",
        "all": "Every matched account goes to its owner",
        "off": "No account matching",
    },
    "sla_action": {"reassign": "Reassign", "escalate": "Escalate", "touched late": "Touched late", "": "Within SLA"},
    "model_mode": {
        "model": "Calibrated logistic model",
        "calibrated_rules": "Small-data mode: calibrated rule score",
        "none": "No predictive score",
    },
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
        "overall_score": "Health score",
        "band": "Band",
        "coverage": "Data coverage",
        "health_trend": "Change in 30 days",
        "risk_level": "Risk",
        "triggers": "Triggers",
        "churn_probability": "Churn probability (90 days)",
        "arr": "ARR",
        "arr_at_risk": "ARR at risk",
        "owner_name": "Owner",
        "segment": "Segment",
        "as_of": "As of",
        "usage_frequency": "Usage frequency",
        "feature_adoption": "Feature adoption",
        "engagement_trend": "Engagement trend",
        "support_health": "Support health",
        "payment_stability": "Payment stability",
        "marketing_engagement": "Marketing engagement",
    },
    "component": {
        "usage_frequency": "Usage frequency",
        "feature_adoption": "Feature adoption",
        "engagement_trend": "Engagement trend",
        "support_health": "Support health",
        "payment_stability": "Payment stability",
        "marketing_engagement": "Marketing engagement",
    },
    "trigger": {
        "health_score_drop": "Health score drop",
        "usage_decline": "Usage decline",
        "support_escalation": "Support escalation",
        "non_response": "No email response",
        "usage_plateau": "Usage plateau",
        "feature_underutilization": "Feature underutilization",
        "payment_delays": "Payment delays",
    },
    "risk_level": {"high": "High risk", "medium": "Medium risk", "none": "No trigger"},
    "intervention": {
        "retention_campaign": "Retention campaign",
        "owner_task": "Task for the owner",
        "crm_sync": "Health pushed to HubSpot",
    },
    "outcome": {
        "recovered": "Recovered",
        "not_recovered": "Not recovered",
        "churned": "Churned",
        "in_progress": "In progress",
    },
    "driver": {
        "falling_usage": "Falling usage",
        "escalations": "Escalations",
        "late_payments": "Late payments",
        "email_silence": "Email silence",
        "usage_frequency": "Usage frequency",
        "feature_adoption": "Feature adoption",
        "other_tickets_90": "Other tickets",
        "low_csat_share_90": "Low CSAT",
        "content_30": "Content consumption",
        "tenure_years": "Tenure",
        "log_arr": "Account size (ARR)",
        "usage_trend_30": "Usage, 30 days vs before",
        "usage_trend_90": "Usage, 90 days vs before",
        "escalations_90": "Escalated tickets",
        "late_payment_share": "Share of invoices paid late",
        "invoices_late_90": "Late invoices (90 days)",
        "days_since_email_engagement": "Days since an email open or click",
        "email_open_rate_30": "Email open rate",
        "contact_name": "Lead",
        "rule_score": "Rule score",
        "predictive_score": "Predictive score",
        "fit_score": "Fit",
        "engagement_score": "Engagement",
        "grade": "Grade",
        "tier": "Tier",
        "reasons": "Why (rules)",
        "predictive_reasons": "Why (model)",
        "missing": "Scored without",
        "suggested_rep_id": "Suggested owner ID",
        "suggested_owner": "Suggested owner",
        "routing_rule": "Routing rule",
        "lead_source": "Source",
        "created_at": "Created",
        "job_title": "Title",
        "seniority": "Seniority",
        "segment": "Segment",
        "region": "Region",
        "company": "Company",
        "rep_name": "Rep",
        "rule": "Decided by",
        "candidates": "Candidates",
        "skipped": "Skipped, and why",
        "leads": "Leads",
        "share": "Share",
        "capacity": "Capacity / month",
        "peak_month": "Busiest month",
        "sla_breaches": "SLA breaches",
        "median_wait_hours": "Median wait (business h)",
        "wait_hours": "Wait (business h)",
        "expected": "Expected",
        "deviation": "Deviation",
        "fair": "Within ±1",
        "conversion_rate": "Conversion rate",
        "conversions": "Conversions",
        "pool": "Pool",
        "current_spend": "Current spend",
        "optimized_spend": "Recommended spend",
        "change": "Change",
        "change_pct": "Change (%)",
        "lower_bound": "Minimum",
        "upper_bound": "Maximum",
        "current_revenue": "Expected revenue now",
        "expected_revenue": "Expected revenue after",
        "marginal_roi": "Marginal ROI",
        "beta": "Ceiling β",
        "alpha": "Shape α",
        "kappa": "Half-saturation κ",
        "r2": "Fit R²",
        "risk_flags": "Risk flags",
    },
    "risk_flag": {
        "beyond_observed": "Beyond 1.2× the highest weekly spend seen",
        "few_weeks": "Fewer than 26 weeks of data",
        "poor_fit": "Poor fit (R² < 0.3)",
        "fit_failed": "Fit failed: kept at current spend",
        "no_history": "No spend history: kept at current spend",
        "locked": "Locked",
    },
    "objective": {"revenue": "Attributed revenue", "ltv": "LTV-weighted revenue"},
    "allocation_status": {
        "free": "Inside its bounds",
        "lower": "At its minimum",
        "upper": "At its maximum",
        "fixed": "Fixed (locked or no curve)",
    },
    "budget_scenario": {
        "total": "Best use of a total budget",
        "revenue_target": "Least budget for a revenue target",
        "roas_target": "Most revenue at a target ROAS",
    },
    # feature adoption and feedback (analytics.customers.adoption, .feedback)
    "milestone": {
        "adoption_success": "Adoption success",
        "adoption_nudge": "Adoption nudge",
        "advanced_feature": "Ready for advanced features",
    },
    "signal": {
        "breadth_on_lower_plan": "Broad adoption on a lower plan",
        "seats_near_limit": "Seats near the plan's limit",
        "advanced_adoption": "Advanced features adopted",
    },
    "feedback_kind": {
        "value_driver": "Value driver",
        "pain_point": "Pain point",
        "feature_request": "Feature request",
    },
    "sentiment": {"positive": "Positive", "neutral": "Neutral", "negative": "Negative"},
    "nps_group": {"promoter": "Promoter", "passive": "Passive", "detractor": "Detractor"},
    # scheduled jobs and SLA monitoring (analytics.jobs)
    "sla_class": {
        "real_time_operations": "Real-time operations",
        "batch_operations": "Batch operations",
        "report_generation": "Report generation",
        "data_synchronization": "Data synchronization",
    },
    "sla_service": {
        "api_endpoints": "API endpoints",
        "data_sync_services": "Data sync services",
        "reporting_services": "Reporting services",
    },
    "sla_accuracy": {
        "data_synchronization": "Data synchronization (records pulled vs stored)",
        "attribution_calculation": "Attribution (credit conserved)",
        "roi_calculation": "ROI (recomputed)",
    },
    "job_status": {
        "running": "Running",
        "succeeded": "Succeeded",
        "failed": "Failed",
        "refused": "Refused (already running)",
        "never run": "Never run",
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
