"""The canonical warehouse tables: the DDL is the truth.

There are no foreign keys because imports must be able to load children before parents.
Each table's time column (:data:`TIME_COLUMNS`) dates its rows for ranges and freshness.
"""

from __future__ import annotations

import duckdb

# The demo's channels. A warehouse's channels are whatever its data holds: an import keeps a
# channel that is not here under its own name (analytics.imports), and nothing else relies on this list.
CHANNELS = (
    "email",
    "paid_search",
    "paid_social",
    "organic_search",
    "webinar",
    "events",
    "display",
    "direct",
)
COST_CATEGORIES = ("media_spend", "creative_production", "platform_fees", "operational_overhead")
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
EMAIL_EVENT_TYPES = ("sent", "delivered", "open", "click", "unsubscribe", "bounce")
CONTENT_EVENT_KINDS = ("blog_read", "webinar", "download", "referral", "review", "case_study")

# Table name -> DDL. Order matters only for readability; there are no foreign keys
# because imports must be able to load children before parents.
SCHEMA: dict[str, str] = {
    "sales_reps": """
        create table if not exists sales_reps (
            rep_id varchar primary key,
            name varchar not null,
            email varchar,
            territory varchar,
            segment varchar,
            seniority varchar,
            capacity integer,
            hubspot_owner_id varchar
        )""",
    "accounts": """
        create table if not exists accounts (
            account_id varchar primary key,
            name varchar not null,
            domain varchar,
            segment varchar,
            industry varchar,
            region varchar,
            employees integer,
            plan varchar,
            arr double,
            created_at timestamp,
            renewal_date date,
            owner_id varchar,
            churned_at timestamp,
            hubspot_id varchar,
            salesforce_id varchar,
            updated_at timestamp,
            extra json,
            tenant_id varchar
        )""",
    "contacts": """
        create table if not exists contacts (
            contact_id varchar primary key,
            account_id varchar,
            email varchar,
            first_name varchar,
            last_name varchar,
            company varchar,
            lead_source varchar,
            lifecycle_stage varchar,
            created_at timestamp,
            owner_id varchar,
            lead_score double,
            hubspot_id varchar,
            salesforce_id varchar,
            marketing_platform_id varchar,
            updated_at timestamp,
            extra json,
            job_title varchar
        )""",
    "campaigns": """
        create table if not exists campaigns (
            campaign_id varchar primary key,
            name varchar not null,
            channel varchar,
            type varchar,
            start_date date,
            end_date date,
            budget double,
            audience_size integer,
            hubspot_id varchar,
            salesforce_id varchar,
            extra json
        )""",
    "touchpoints": """
        create table if not exists touchpoints (
            touchpoint_id varchar,
            contact_id varchar not null,
            campaign_id varchar,
            channel varchar not null,
            touchpoint_type varchar,
            ts timestamp not null,
            engagement_score double
        )""",
    "opportunities": """
        create table if not exists opportunities (
            opportunity_id varchar primary key,
            contact_id varchar,
            account_id varchar,
            name varchar,
            amount double,
            stage varchar,
            is_closed boolean,
            is_closed_won boolean,
            created_at timestamp,
            close_date date,
            owner_id varchar,
            hubspot_id varchar,
            salesforce_id varchar,
            updated_at timestamp,
            extra json
        )""",
    "campaign_costs": """
        create table if not exists campaign_costs (
            campaign_id varchar,
            cost_date date not null,
            category varchar not null,
            amount double not null,
            platform varchar,
            allocation_method varchar,
            resource_hours double
        )""",
    "feature_usage_events": """
        create table if not exists feature_usage_events (
            account_id varchar not null,
            user_id varchar,
            feature_id varchar,
            feature_name varchar,
            ts timestamp not null,
            session_duration_s double,
            success boolean
        )""",
    "support_tickets": """
        create table if not exists support_tickets (
            ticket_id varchar primary key,
            account_id varchar,
            opened_at timestamp,
            severity varchar,
            escalated boolean,
            resolved_at timestamp,
            csat double
        )""",
    "invoices": """
        create table if not exists invoices (
            invoice_id varchar primary key,
            account_id varchar,
            issued_date date,
            due_date date,
            paid_date date,
            amount double
        )""",
    "email_events": """
        create table if not exists email_events (
            contact_id varchar,
            campaign_id varchar,
            event_type varchar,
            ts timestamp
        )""",
    "content_events": """
        create table if not exists content_events (
            contact_id varchar,
            kind varchar,
            ts timestamp
        )""",
    "feedback": """
        create table if not exists feedback (
            feedback_id varchar primary key,
            account_id varchar,
            contact_id varchar,
            submitted_at timestamp,
            score integer,
            text varchar
        )""",
    "page_views": """
        create table if not exists page_views (
            contact_id varchar not null,
            page_path varchar not null,
            ts timestamp not null
        )""",
    "rep_time_off": """
        create table if not exists rep_time_off (
            rep_id varchar not null,
            starts_on date not null,
            ends_on date not null,
            reason varchar
        )""",
    "sales_activities": """
        create table if not exists sales_activities (
            activity_id varchar primary key,
            contact_id varchar not null,
            rep_id varchar,
            activity_type varchar,
            ts timestamp not null
        )""",
    "product_features": """
        create table if not exists product_features (
            feature_id varchar primary key,
            feature_name varchar not null,
            category varchar
        )""",
    "plans": """
        create table if not exists plans (
            plan varchar primary key,
            tier integer not null,
            seat_limit integer
        )""",
    "_meta": """
        create table if not exists _meta (
            key varchar primary key,
            value varchar
        )""",
}

TABLES = tuple(name for name in SCHEMA if not name.startswith("_"))
# Tables added after warehouses were first built (lead scoring's): a warehouse may lack them until
# its next write (create_schema adds them); their readers check before they use one.
LATER_TABLES = frozenset({"page_views", "rep_time_off", "sales_activities"})
# Adoption's product catalog and plans (analytics.customers.adoption): optional in the same way.
LATER_TABLES = LATER_TABLES | {"product_features", "plans"}

# The column that dates each table's rows, for the Data page's range and freshness.
TIME_COLUMNS: dict[str, str | None] = {
    "sales_reps": None,
    "accounts": "created_at",
    "contacts": "created_at",
    "campaigns": "start_date",
    "touchpoints": "ts",
    "opportunities": "created_at",
    "campaign_costs": "cost_date",
    "feature_usage_events": "ts",
    "support_tickets": "opened_at",
    "invoices": "issued_date",
    "email_events": "ts",
    "content_events": "ts",
    "feedback": "submitted_at",
    "page_views": "ts",
    "rep_time_off": "starts_on",
    "sales_activities": "ts",
    "product_features": None,
    "plans": None,
}


# Columns added to a table after warehouses were built with it: create_schema adds them to an
# older warehouse (the DDL above already has them). Table -> (column, type).
ADDED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "accounts": (("tenant_id", "varchar"),),  # the product's own id of the account (imports)
}


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in SCHEMA.values():
        con.execute(ddl)
    for table, columns in ADDED_COLUMNS.items():
        for column, sql_type in columns:  # identifiers from the fixed list above
            con.execute(f"alter table {table} add column if not exists {column} {sql_type}")


def missing_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    }
    return [name for name in SCHEMA if name not in present and name not in LATER_TABLES]
