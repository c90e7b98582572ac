"""The tiny warehouse: small enough to compute every number its tests check by hand.

Built once per test session by the ``tiny`` fixture (``tests/conftest.py``) and opened
read-only. It holds two stories that never meet in time, so each test's hand computation
sees only its own rows.

**Overview (2025)**: the KPIs and trends of ``tests/overview/``.

========  =========================================================================
accounts  A1 Alpha SMB, ARR 12,000; A2 Beta Enterprise, ARR 100,000, churned Feb 15;
          A3 Gamma SMB, no ARR (all created 2024-01-01)
contacts  C1 of A1, C2 of A2, C3 of A3
touches   C1 email (K1) Jan 5; C2 paid_search (K2) Jan 6; C3 email (K1) Feb 1
deals     O1 C1 1,000 won Feb 10 (created Jan 10); O2 C2 5,000 won Jan 20 (created
          Dec 1 2024); O3 C2 7,000 open (created Feb 1); O4 C3 3,000 lost Feb 20
campaigns K1 Mail (email), K2 Search (paid_search), both Jan 1 - Feb 28 (a campaign without
          dates would run forever and share the finance story's overhead)
costs     K1 Feb 1 100; K2 Feb 3 250 and Jan 5 40;
          unbooked overhead Feb 1 10
========  =========================================================================

**Finance (Dec 2025 - Mar 2026)**: the costs, allocation, budget and ROI of ``tests/finance/``.

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

from analytics.warehouse.connection import connect
from analytics.warehouse.schema import create_schema

OVERVIEW_ROWS = """
    insert into accounts (account_id, name, segment, arr, created_at, churned_at) values
        ('A1', 'Alpha', 'SMB', 12000, '2024-01-01', null),
        ('A2', 'Beta', 'Enterprise', 100000, '2024-01-01', '2025-02-15'),
        ('A3', 'Gamma', 'SMB', 0, '2024-01-01', null);
    insert into contacts (contact_id, account_id, email) values
        ('C1', 'A1', 'a@alpha.com'), ('C2', 'A2', 'b@beta.com'), ('C3', 'A3', 'c@gamma.com');
    insert into campaigns (campaign_id, name, channel, start_date, end_date) values
        ('K1', 'Mail', 'email', '2025-01-01', '2025-02-28'), ('K2', 'Search', 'paid_search', '2025-01-01', '2025-02-28');
    insert into touchpoints (contact_id, campaign_id, channel, ts) values
        ('C1', 'K1', 'email', '2025-01-05'), ('C2', 'K2', 'paid_search', '2025-01-06'),
        ('C3', 'K1', 'email', '2025-02-01');
    insert into opportunities (opportunity_id, contact_id, account_id, amount, is_closed, is_closed_won, created_at, close_date) values
        ('O1', 'C1', 'A1', 1000, true, true, '2025-01-10', '2025-02-10'),  -- won in the current period
        ('O2', 'C2', 'A2', 5000, true, true, '2024-12-01', '2025-01-20'),  -- won in the previous period
        ('O3', 'C2', 'A2', 7000, false, false, '2025-02-01', '2025-04-30'), -- open
        ('O4', 'C3', 'A3', 3000, true, false, '2025-01-15', '2025-02-20');  -- lost inside the current period
    insert into campaign_costs (campaign_id, cost_date, category, amount) values
        ('K1', '2025-02-01', 'media_spend', 100), ('K2', '2025-02-03', 'media_spend', 250),
        ('K2', '2025-01-05', 'media_spend', 40), (null, '2025-02-01', 'operational_overhead', 10);
"""

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
    """Write the tiny warehouse at ``path`` (a new file) and return its path."""
    con = connect(path)
    try:
        create_schema(con)
        con.execute(OVERVIEW_ROWS)
        con.executemany(
            "insert into campaigns (campaign_id, name, channel, start_date, end_date, budget) values (?, ?, ?, ?, ?, ?)",
            CAMPAIGNS,
        )
        con.executemany(
            "insert into campaign_costs (campaign_id, cost_date, category, amount, resource_hours, "
            "allocation_method) values (?, ?, ?, ?, ?, ?)",
            COSTS,
        )
    finally:
        con.close()
    return str(path)
