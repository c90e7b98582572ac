"""A tiny warehouse written row by row, small enough to score by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from analytics.warehouse.schema import create_schema

NOW = datetime(2026, 9, 30, 12, 0, 0)


def tiny_warehouse(path, contacts=(), accounts=(), touchpoints=(), emails=(), pages=(), content=(), opportunities=()):
    """A warehouse with just the given rows; ``NOW`` is its latest touch unless a row is later."""
    con = duckdb.connect(str(path))
    create_schema(con)
    for row in accounts:
        con.execute(
            "insert into accounts (account_id, name, domain, segment, industry, region, employees, arr, owner_id) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            list(row),
        )
    for row in contacts:
        con.execute(
            "insert into contacts (contact_id, account_id, email, first_name, last_name, company, lead_source, "
            "created_at, hubspot_id, job_title) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            list(row),
        )
    for i, (contact, channel, kind, ts) in enumerate(touchpoints):
        con.execute("insert into touchpoints values (?, ?, null, ?, ?, ?, 50)", [f"TP{i}", contact, channel, kind, ts])
    # the warehouse's 'now' is its latest touch: pin it
    con.execute("insert into touchpoints values ('TPNOW', 'NOBODY', null, 'direct', 'page_view', ?, 0)", [NOW])
    for contact, kind, ts in emails:
        con.execute("insert into email_events values (?, null, ?, ?)", [contact, kind, ts])
    for contact, path_, ts in pages:
        con.execute("insert into page_views values (?, ?, ?)", [contact, path_, ts])
    for contact, kind, ts in content:
        con.execute("insert into content_events values (?, ?, ?)", [contact, kind, ts])
    for row in opportunities:
        con.execute(
            "insert into opportunities (opportunity_id, contact_id, amount, is_closed, is_closed_won, created_at, "
            "close_date) values (?, ?, ?, ?, ?, ?, ?)",
            list(row),
        )
    con.close()
    return str(path)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)
