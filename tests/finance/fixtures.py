"""A warehouse small enough to compute ROI by hand (used by tests/test_roi_*.py).

Campaigns (2026):

======  ==========  ===============  =========================================================
id      channel     dates            costs (cost_date: category amount [resource_hours])
======  ==========  ===============  =========================================================
CMPA    email       Jan 1 - Jan 31   Dec 15 2025: media 999 (outside the report window)
                                     Jan 1: media 1000, creative 300 [30 h]
CMPB    email       Jan 16 - Feb 28  Jan 1: creative 100 [10 h]; Feb 1: media 500, creative 200 [20 h]
CMPC    webinar     Feb 1 - Feb 28   none
CMPD    paid_search Feb 1 - Feb 28   Feb 1: media 250
======  ==========  ===============  =========================================================

Unbooked overhead (campaign_id null): Jan 1 800 (no allocation_method), Feb 1 600 (booked as
``time_based``), Mar 1 400 (no campaign runs in March and none booked hours, so the March
pool stays unallocated).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from analytics.warehouse.connection import connect
from analytics.warehouse.schema import create_schema

CAMPAIGNS = [
    ("CMPA", "Alpha newsletter", "email", date(2026, 1, 1), date(2026, 1, 31), 1_500.0),
    ("CMPB", "Beta nurture", "email", date(2026, 1, 16), date(2026, 2, 28), 700.0),
    ("CMPC", "Gamma webinar", "webinar", date(2026, 2, 1), date(2026, 2, 28), 0.0),
    ("CMPD", "Delta search", "paid_search", date(2026, 2, 1), date(2026, 2, 28), 1_000.0),
]
COSTS = [  # campaign_id, cost_date, category, amount, resource_hours, allocation_method
    ("CMPA", date(2025, 12, 15), "media_spend", 999.0, None, None),
    ("CMPA", date(2026, 1, 1), "media_spend", 1_000.0, None, None),
    ("CMPA", date(2026, 1, 1), "creative_production", 300.0, 30.0, None),
    ("CMPB", date(2026, 1, 1), "creative_production", 100.0, 10.0, None),
    ("CMPB", date(2026, 2, 1), "media_spend", 500.0, None, None),
    ("CMPB", date(2026, 2, 1), "creative_production", 200.0, 20.0, None),
    ("CMPD", date(2026, 2, 1), "media_spend", 250.0, None, None),
    (None, date(2026, 1, 1), "operational_overhead", 800.0, None, None),
    (None, date(2026, 2, 1), "operational_overhead", 600.0, None, "time_based"),
    (None, date(2026, 3, 1), "operational_overhead", 400.0, None, None),
]


def build_tiny_warehouse(path) -> str:
    con = connect(path)
    create_schema(con)
    con.executemany(
        "insert into campaigns (campaign_id, name, channel, start_date, end_date, budget) values (?, ?, ?, ?, ?, ?)",
        CAMPAIGNS,
    )
    con.executemany(
        "insert into campaign_costs (campaign_id, cost_date, category, amount, resource_hours, "
        "allocation_method) values (?, ?, ?, ?, ?, ?)",
        COSTS,
    )
    con.close()
    return str(path)


def attributed_frame(rows: list[tuple]) -> pl.DataFrame:
    """``attribute(by="campaign", by_month=True)``-shaped rows: (campaign, model, month, conversions, revenue)."""
    return pl.DataFrame(
        rows,
        schema={
            "campaign": pl.String,
            "model": pl.String,
            "month": pl.Date,
            "attributed_conversions": pl.Float64,
            "attributed_revenue": pl.Float64,
        },
        orient="row",
    )
