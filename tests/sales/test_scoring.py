"""The rule score on cases small enough to compute by hand: fit, decay per event, caps, grade, tier, reasons."""

from __future__ import annotations

import duckdb
import pytest

from analytics.core.errors import RevLensError
from analytics.sales.rules import load_rules, parse_rules
from analytics.sales.scoring import score_leads
from tests.sales.fixtures import NOW, days_ago, tiny_warehouse

RULES = """
[fit]
limit = 30
+20 segment is Enterprise
+10 employees >= 1000
+8 seniority in vp, c_level
-10 email_domain is free_mail
-5 company missing

[engagement]
limit = 25
half_life_days = 10
+4 per touchpoint max 6
+15 per webinar_attended
+5 per pricing_visit max 10 half_life 5 days
-10 per unsubscribe

[grades]
fit_a = 25
fit_b = 10
engagement_1 = 15
engagement_2 = 5

[qualification]
mql = 30
sql = 50
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    return tiny_warehouse(
        path,
        accounts=[
            ("A1", "Acme Corp", "acme.com", "Enterprise", "Software", "EMEA", 5000, 100000.0, "REP1"),
            ("A2", "Beta Labs", "beta.io", "SMB", "Retail", "APAC", 50, 0.0, "REP2"),
        ],
        contacts=[
            # C1: linked to A1, VP; webinar 10 days ago, two touches now and 10 days ago, 2 pricing visits
            ("C1", "A1", "ann@acme.com", "Ann", "Lee", "Acme Corp", "Web", days_ago(40), "h1", "VP Marketing"),
            # C2: no account id, matched by domain to A2; free of events except an unsubscribe
            ("C2", None, "bo@beta.io", "Bo", "Ray", None, "Event", days_ago(20), "h2", "Analyst"),
            # C3: free-mail, no company, no title: scored on what it has
            ("C3", None, "cy@gmail.com", "Cy", "Ng", None, "Web", days_ago(5), None, None),
            # C4: no email, matched to A1 by company name
            ("C4", None, None, "Di", "Fox", "ACME CORP ", "Referral", days_ago(3), "h4", "Chief Revenue Officer"),
        ],
        touchpoints=[
            ("C1", "webinar", "webinar_attended", days_ago(10)),
            ("C1", "email", "email_click", NOW),
            ("C3", "paid_search", "ad_click", days_ago(20)),
        ],
        pages=[("C1", "/pricing", days_ago(5)), ("C1", "/pricing", days_ago(5)), ("C1", "/docs", days_ago(1))],
        emails=[("C2", "unsubscribe", days_ago(10))],
    )


def _scores(path, text=RULES):
    con = duckdb.connect(path, read_only=True)
    try:
        frame = score_leads(con, parse_rules(text))
    finally:
        con.close()
    return {row["contact_id"]: row for row in frame.iter_rows(named=True)}


def test_rule_scores_by_hand(tiny):
    s = _scores(tiny)
    # C1 fit: 20 (Enterprise) + 10 (5000 employees) + 8 (VP) = 38 → capped at 30
    assert s["C1"]["fit_score"] == 30
    # C1 engagement: touches 4·(0.5^(10/10) + 0.5^0) = 6 → max 6; webinar 15·0.5 = 7.5;
    # pricing 5·2·0.5^(5/5) = 5; total 18.5 (limit 25)
    assert s["C1"]["engagement_score"] == pytest.approx(18.5)
    assert s["C1"]["rule_score"] == pytest.approx(48.5)
    assert s["C1"]["grade"] == "A1" and s["C1"]["tier"] == "mql"
    assert s["C1"]["reasons"] == (
        "+20 segment is Enterprise; +10 employees >= 1000; +8 seniority in vp, c_level; "
        "+6 marketing touches ×2, last 2026-09-30; +8 webinar attended 2026-09-20; "
        "+5 pricing page visit ×2, last 2026-09-25; fit capped at 30"
    )
    assert s["C1"]["missing"] == ""
    # C2: matched by domain to Beta Labs (SMB, 50 people); the company comes from the account;
    # unsubscribe −10·0.5 = −5 → engagement −5, total clipped at 0
    assert s["C2"]["account_id"] == "A2" and s["C2"]["matched_by"] == "domain"
    assert s["C2"]["company"] == "Beta Labs"
    assert s["C2"]["fit_score"] == 0 and s["C2"]["engagement_score"] == pytest.approx(-5)
    assert s["C2"]["rule_score"] == 0 and s["C2"]["grade"] == "C3" and s["C2"]["tier"] == "nurture"
    assert "−5 unsubscribed 2026-09-20" in s["C2"]["reasons"]


def test_a_lead_without_email_or_company_is_scored_on_what_it_has(tiny):
    s = _scores(tiny)
    # C3: free mail −10, no company −5 = −15; one touch 20 days ago 4·0.25 = 1 → total clipped at 0
    assert s["C3"]["fit_score"] == -15 and s["C3"]["engagement_score"] == pytest.approx(1.0)
    assert s["C3"]["rule_score"] == 0
    assert s["C3"]["account_id"] is None and s["C3"]["missing"] == "company, title, account"
    assert "scored without company, title, account" in s["C3"]["reasons"]
    # C4: no email; matched to Acme by company name (case and spaces ignored): 20 + 10 + 8 → 30
    assert s["C4"]["matched_by"] == "company_name" and s["C4"]["account_id"] == "A1"
    assert s["C4"]["seniority"] == "c_level" and s["C4"]["fit_score"] == 30
    assert s["C4"]["missing"] == "email" and s["C4"]["rule_score"] == 30


def test_free_mail_never_matches_an_account_by_domain(tmp_path):
    path = tiny_warehouse(
        tmp_path / "free.duckdb",
        accounts=[("G", "Gmail Fans", "gmail.com", "SMB", "Retail", "EMEA", 10, 0.0, "REP1")],
        contacts=[("C", None, "x@gmail.com", "X", "Y", None, "Web", days_ago(1), None, None)],
    )
    s = _scores(path)
    assert s["C"]["account_id"] is None and s["C"]["fit_score"] == -15


def test_thresholds_move_tiers(tiny):
    looser = RULES.replace("mql = 30", "mql = 20").replace("sql = 50", "sql = 30")
    s = _scores(tiny, looser)
    assert s["C1"]["tier"] == "sql" and s["C4"]["tier"] == "sql"
    with pytest.raises(RevLensError, match="below the MQL"):
        parse_rules(RULES).with_thresholds(60, 40)


def test_the_shipped_rules_file_parses():
    rules = load_rules()
    assert rules.fit and rules.engagement and rules.mql < rules.sql


def test_model_features_built_at_load_equal_those_computed_inline(demo_db, monkeypatch):
    """``_lead_features`` (built by every load) and the in-query counts agree lead by lead."""
    from dataclasses import replace

    import analytics.sales.scoring as scoring
    from analytics.sales.features import warehouse_shape
    from analytics.sales.scoring import Scope

    con = duckdb.connect(demo_db, read_only=True)
    try:
        assert warehouse_shape(con).features_current
        stored = score_leads(con, load_rules(), Scope(observed=True), model_features=True).sort("contact_id")
        monkeypatch.setattr(scoring, "warehouse_shape", lambda c: replace(warehouse_shape(c), features_current=False))
        inline = score_leads(con, load_rules(), Scope(observed=True), model_features=True).sort("contact_id")
    finally:
        con.close()
    columns = [c for c in stored.columns if c.startswith("w_")]
    assert len(columns) == 10 and stored.select(columns).sum().row(0) != (0,) * len(columns)
    assert stored["touch_channels"].list.len().sum() > 1000  # and the channels each lead touched
    columns.append("touch_channels")
    assert stored.select("contact_id", *columns).equals(inline.select("contact_id", *columns))
    assert stored["rule_score"].equals(inline["rule_score"])


def test_a_warehouse_built_before_lead_scoring_still_opens_and_scores(tmp_path):
    """No job_title column, no page_views / rep_time_off / sales_activities: scored on what it has."""
    from analytics.warehouse.catalog import table_summaries
    from analytics.warehouse.connection import Warehouse

    path = tiny_warehouse(
        tmp_path / "old.duckdb",
        contacts=[("C", None, "x@acme.com", "X", "Y", "Acme", "Web", days_ago(3), None, "VP Sales")],
        touchpoints=[("C", "webinar", "webinar_attended", days_ago(1))],
    )
    con = duckdb.connect(path)
    con.execute("drop table page_views; drop table rep_time_off; drop table sales_activities")
    con.execute("alter table contacts drop column job_title")
    con.close()
    warehouse = Warehouse(path)  # opens: the later tables are optional
    try:
        summary = table_summaries(warehouse.cursor())
        assert summary.filter(summary["table"] == "page_views")["rows"].to_list() == [0]
        frame = score_leads(warehouse.cursor(), parse_rules(RULES))
    finally:
        warehouse.close()
    row = frame.filter(frame["contact_id"] == "C").row(0, named=True)
    assert row["seniority"] is None and "title" in row["missing"]
    assert row["engagement_score"] > 0  # the touches still count
