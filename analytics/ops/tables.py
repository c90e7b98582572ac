"""Every table of the operations store, declared once on :data:`metadata`.

``action_outbox``, ``action_batches``, ``audit_log`` and ``campaign_triggers`` belong to the
write-back outbox (:mod:`analytics.crm.actions`), ``event_outbox`` to the event stream
(:mod:`analytics.ops.events`), ``sync_cursors`` to the CRM pull sync, ``job_runs`` to job
bookkeeping; ``health_config``, ``health_bands`` and ``retention_interventions`` to customer health
(:mod:`analytics.customers`); ``routing_audit``, ``lead_assignments`` and ``rep_availability`` to
lead routing (:mod:`analytics.sales.store`); ``job_locks``, ``job_results``,
``sla_samples``, ``service_probes``, ``accuracy_checks``, ``notifications`` and ``consumer_offsets`` to
scheduled jobs and SLA monitoring (:mod:`analytics.jobs`). :func:`analytics.ops.store.migrate` creates and extends them.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

actions = sa.Table(
    "action_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("target_count", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Text, nullable=False, default="[]"),  # JSON list of contact keys over the cap
    sa.Column("idempotency_key", sa.String(80), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("topic", sa.String(40), nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(254), nullable=False),
    sa.Column("confirmed_by", sa.String(254)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
    sa.Index("ix_action_outbox_status", "status", "next_attempt_at"),
)

action_batches = sa.Table(
    "action_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action_id", sa.Integer, nullable=False),
    sa.Column("batch_no", sa.Integer, nullable=False),
    sa.Column("targets", sa.Text, nullable=False),  # JSON list of target dicts (≤100)
    sa.Column("status", sa.String(16), nullable=False),  # pending | sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("progress", sa.Integer, nullable=False, default=0),  # targets confirmed done (per-contact kinds)
    sa.Column("last_error", sa.Text),
    sa.Column("result", sa.Text),  # JSON counts from HubSpot's answer
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("action_id", "batch_no", name="uq_action_batches_no"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(254), nullable=False),
    sa.Column("action_id", sa.Integer),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index("ix_audit_log_action", "action_id"),
)

campaign_triggers = sa.Table(
    "campaign_triggers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contact_key", sa.String(260), nullable=False),
    sa.Column("action_id", sa.Integer, nullable=False),
    sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_campaign_triggers_contact", "contact_key", "triggered_at"),
    sa.Index("ix_campaign_triggers_action", "action_id"),
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("object_type", sa.String(32), primary_key=True),
    sa.Column("cursor", sa.String(40), nullable=False),  # ISO-8601 UTC of the last modification pulled
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

event_outbox = sa.Table(
    "event_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("topic", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(60), nullable=False),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("envelope", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("publish_error", sa.Text),
    sa.Index("ix_event_outbox_unpublished", "published_at", "id"),
)

job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),  # running | succeeded | failed
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("duration_s", sa.Float),
    sa.Column("error", sa.Text),
    # scheduled jobs (analytics.jobs.runner): what ran, why, who holds it, what it produced
    sa.Column("parameters", sa.Text),  # JSON object of the run's parameters
    sa.Column("trigger", sa.String(16)),  # manual | schedule | catch_up | retry | consumer
    sa.Column("attempt", sa.Integer),  # 1 for the first attempt, n for the n-th under the retry policy
    sa.Column("scheduled_for", sa.DateTime(timezone=True)),  # the fire time a scheduled run stands for
    sa.Column("owner", sa.String(200)),  # host:pid:nonce of the process running it
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),  # refreshed while it runs; stale = the process died
    sa.Column("rows", sa.Integer),  # rows the job read or wrote (its own measure, in its docstring)
    sa.Column("outputs", sa.Text),  # JSON list of files written
    sa.Index("ix_job_runs_job_started", "job", "started_at"),
)

health_config = sa.Table(  # the health score's weights and bands, one row per save (the newest wins)
    "health_config",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("config", sa.Text, nullable=False),  # JSON: weights by component, healthy_min, critical_below
    sa.Column("saved_by", sa.String(254), nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)

health_bands = sa.Table(  # each account's last published band, to emit customer-health events on a change
    "health_bands",
    metadata,
    sa.Column("account_id", sa.String(100), primary_key=True),
    sa.Column("band", sa.String(16), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)

retention_interventions = sa.Table(  # logRetentionIntervention: one row per account an action was taken for
    "retention_interventions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(100), nullable=False),
    sa.Column("account_name", sa.String(300)),
    sa.Column("intervention", sa.String(32), nullable=False),  # retention_campaign | owner_task | crm_sync
    sa.Column("action_id", sa.Integer),  # the write-back action in action_outbox
    sa.Column("kind", sa.String(32), nullable=False),  # the action's kind (add_to_list, create_task, ...)
    sa.Column("as_of", sa.Date, nullable=False),  # the data date the decision was made on
    sa.Column("score", sa.Float),
    sa.Column("band", sa.String(16)),
    sa.Column("risk_level", sa.String(16)),
    sa.Column("triggers", sa.Text, nullable=False, default="[]"),  # JSON list of the fired trigger names
    sa.Column("churn_probability", sa.Float),
    sa.Column("created_by", sa.String(254), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("action_id", "account_id", name="uq_retention_interventions_action_account"),
    sa.Index("ix_retention_interventions_account", "account_id", "as_of"),
)

# Lead routing (analytics.sales.store): one audit row per routing decision, the leads each
# rep received live (its monthly load), and time off entered on the Routing page.
routing_audit = sa.Table(
    "routing_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(254), nullable=False),
    sa.Column("config_key", sa.String(40), nullable=False),
    sa.Column("contact_id", sa.String(64), nullable=False),
    sa.Column("rep_id", sa.String(64)),
    sa.Column("queue", sa.String(64)),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("candidates", sa.Text, nullable=False),  # JSON list of rep ids
    sa.Column("skipped", sa.Text, nullable=False),  # JSON object: rep id -> why it was skipped
    sa.Column("score", sa.Float),
    sa.Index("ix_routing_audit_contact", "contact_id"),
    sa.Index("ix_routing_audit_run", "run_id"),
)

lead_assignments = sa.Table(
    "lead_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("contact_id", sa.String(64), nullable=False),
    sa.Column("rep_id", sa.String(64), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),  # YYYY-MM of the assignment: the rep's monthly load
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lead_assignments_rep_month", "rep_id", "month"),
)

rep_availability = sa.Table(
    "rep_availability",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rep_id", sa.String(64), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("reason", sa.String(200)),
    sa.Column("created_by", sa.String(254), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Scheduled jobs and SLA monitoring (analytics.jobs): the one-run-at-a-time lock per job, each run's
# stored results, every timed operation, availability probes, accuracy reconciliations, the
# notifications the alert-system consumer makes, and each consumer group's position in the outbox.
job_locks = sa.Table(
    "job_locks",
    metadata,
    sa.Column("job", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
)

job_results = sa.Table(
    "job_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("job", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),  # JSON: the job's figures (see each job's docstring)
    sa.Index("ix_job_results_job", "job", "id"),
)

sla_samples = sa.Table(
    "sla_samples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("operation", sa.String(120), nullable=False),
    sa.Column("sla_class", sa.String(32), nullable=False),  # real_time_operations | batch_operations | ...
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("target_ms", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # success | error
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_sla_samples_at", "at"),
    sa.Index("ix_sla_samples_operation", "operation", "at"),
)

service_probes = sa.Table(
    "service_probes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(32), nullable=False),  # api_endpoints | data_sync_services | reporting_services
    sa.Column("probe", sa.String(80), nullable=False),  # what was probed (warehouse, ops_store, app, job name)
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_service_probes_at", "service", "at"),
)

accuracy_checks = sa.Table(
    "accuracy_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(40), nullable=False),  # data_synchronization | attribution_calculation | ...
    sa.Column("matched", sa.Float, nullable=False),  # records stored / credit conserved / ROI rows recomputed
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("run_id", sa.Integer),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),  # the event it came from: once per event
    sa.Column("kind", sa.String(40), nullable=False),  # sla_violation | health_band_change
    sa.Column("severity", sa.String(16), nullable=False),  # warning | critical | info
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("webhook_status", sa.String(80)),  # not configured | sent 200 | failed: ...
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

consumer_offsets = sa.Table(
    "consumer_offsets",
    metadata,
    sa.Column("consumer_group", sa.String(40), primary_key=True),
    sa.Column("last_id", sa.Integer, nullable=False),  # the last event_outbox.id the group has handled
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Budget scenarios (analytics.finance.reallocation.scenarios): a named set of budget inputs
# saved on the Budget page, with the advice's summary, to compare side by side.
budget_scenarios = sa.Table(
    "budget_scenarios",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("created_by", sa.String(254), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: total, objective, model, max shift, bounds, locks
    sa.Column("result", sa.Text, nullable=False),  # JSON: the spec-shaped advice
    sa.UniqueConstraint("name", "created_by", name="uq_budget_scenarios_name"),
)

# Feature adoption (analytics.customers.adoption): its saved configuration, the milestone campaigns
# triggered, and each campaign's arms (one row per account, feature and milestone: it fires once).
adoption_config = sa.Table(
    "adoption_config",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("config", sa.Text, nullable=False),  # JSON: thresholds, key/advanced features, templates, holdout
    sa.Column("saved_by", sa.String(254), nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)

adoption_campaigns = sa.Table(
    "adoption_campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("milestone", sa.String(32), nullable=False),
    sa.Column("feature", sa.String(200), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),  # the data date the milestones were found on
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(100)),
    sa.Column("action_id", sa.Integer),  # the write-back action in action_outbox
    sa.Column("holdout_share", sa.Float, nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("eligible", sa.Integer, nullable=False),
    sa.Column("treated", sa.Integer, nullable=False),
    sa.Column("held_out", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(254), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

adoption_assignments = sa.Table(
    "adoption_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.Integer, nullable=False),
    sa.Column("account_id", sa.String(100), nullable=False),
    sa.Column("feature", sa.String(200), nullable=False),
    sa.Column("milestone", sa.String(32), nullable=False),
    sa.Column("arm", sa.String(16), nullable=False),  # treated | holdout
    sa.Column("adoption_before", sa.Float),  # the adoption rate on the campaign's data date
    sa.UniqueConstraint("account_id", "feature", "milestone", name="uq_adoption_assignments_once"),
    sa.Index("ix_adoption_assignments_campaign", "campaign_id"),
)

# Bump when a table or column is added; migrate() records it in schema_version.
SCHEMA_VERSION = 6

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1: one row
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("migrated_at", sa.DateTime(timezone=True), nullable=False),
)
