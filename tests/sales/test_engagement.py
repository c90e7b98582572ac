"""The engagement sums stored at load (``_lead_engagement``), rescaled to 'now', equal the sums over the events."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb
import pytest
from polars.testing import assert_frame_equal

from analytics.sales.engagement import (
    LEAD_ENGAGEMENT,
    build_lead_engagement,
    decay_rate,
    decayed_sum,
    epoch_seconds,
    stored_engagement,
    sum_column,
)
from analytics.sales.features import data_end
from analytics.sales.rules import default_rules_text, load_rules, parse_rules
from analytics.sales.scoring import score_statement, scoring_shape
from analytics.warehouse.runner import run
from analytics.warehouse.versions import bump_version
from tests.sales.fixtures import NOW, days_ago, tiny_warehouse

RULES = """
[fit]
limit = 60
+10 segment is Enterprise

[engagement]
limit = 40
half_life_days = 45
+15 per webinar_attended half_life 10 days
+3 per email_click max 9

[grades]
fit_a = 30
fit_b = 15
engagement_1 = 25
engagement_2 = 10

[qualification]
mql = 40
sql = 60
"""


@pytest.fixture()
def tiny(tmp_path):
    """C1: webinars 10 and 30 days ago, a click 5 days ago; C2: a click 2 days after the warehouse's 'now'."""
    path = tiny_warehouse(
        tmp_path / "tiny.duckdb",
        contacts=[
            ("C1", None, "a@acme.com", "A", "B", "Acme", "Web", days_ago(40), None, None),
            ("C2", None, "c@beta.com", "C", "D", "Beta", "Web", days_ago(20), None, None),
        ],
        touchpoints=[
            ("C1", "webinar", "webinar_attended", days_ago(10)),
            ("C1", "webinar", "webinar_attended", days_ago(30)),
        ],
        emails=[("C1", "click", days_ago(5)), ("C2", "click", NOW + timedelta(days=2))],
    )
    con = duckdb.connect(path)
    con.execute("begin")
    build_lead_engagement(con, parse_rules(RULES))
    LEAD_ENGAGEMENT.mark_current(con, bump_version(con, "test"))
    con.execute("commit")
    yield con
    con.close()


def test_without_contacts_the_table_has_the_same_columns_and_no_rows(tiny):
    """A first import of touchpoints into a warehouse without contacts stores no lead (and reads no event)."""
    with_contacts = tiny.execute("describe _lead_engagement").fetchall()
    tiny.execute("delete from contacts")
    build_lead_engagement(tiny, parse_rules(RULES))
    assert tiny.execute("describe _lead_engagement").fetchall() == with_contacts
    assert tiny.execute("select count(*) from _lead_engagement").fetchall() == [(0,)]
    assert "webinar_attended" in " ".join(c for c, *_ in with_contacts)


def scores(con, now, stored: bool):
    shape = scoring_shape(con)
    shape = shape if stored else replace(shape, engagement=None)
    sql, params = score_statement(parse_rules(RULES), shape, now)
    return sql, run(con, sql, params).sort("contact_id")


def test_the_load_stores_each_rules_decayed_sum_count_and_latest_event(tiny):
    stored = stored_engagement(tiny)
    assert stored.as_of == NOW and stored.next_event_at == NOW + timedelta(days=2)
    row = tiny.execute(
        f"select {sum_column('webinar_attended', 10)}, n_webinar_attended, last_webinar_attended, "
        f"{sum_column('email_click', 45)}, n_email_click from _lead_engagement where contact_id = 'C1'"
    ).fetchall()[0]
    # 0.5^(10/10) + 0.5^(30/10); one click 5 days old at a 45-day half-life
    assert row[0] == pytest.approx(0.5 + 0.125, rel=1e-12)
    assert row[1:3] == (2, days_ago(10))
    assert row[3] == pytest.approx(0.5 ** (5 / 45), rel=1e-12) and row[4] == 1
    # C2's click comes after the load's 'now': not in the sums
    assert tiny.execute("select n_email_click from _lead_engagement where contact_id = 'C2'").fetchall() == [(None,)]


def test_a_later_now_rescales_the_stored_sums_exactly(tiny):
    """exp(−λ(now − t0)) · Σ exp(−λ(t0 − t_i)) = Σ exp(−λ(now − t_i)), by hand and against the inline sums."""
    stored, later = stored_engagement(tiny), NOW + timedelta(days=1)
    assert stored.covers(NOW) and stored.covers(later)
    assert stored.scale(10, NOW) == 1.0
    assert 0.625 * stored.scale(10, later) == pytest.approx(0.5 ** (11 / 10) + 0.5 ** (31 / 10), rel=1e-12)
    for now in (NOW, later):
        sql, with_stored = scores(tiny, now, stored=True)
        assert "_lead_engagement" in sql and "touch_totals" not in sql and "email_totals" not in sql
        inline_sql, inline = scores(tiny, now, stored=False)
        assert "_lead_engagement" not in inline_sql
        assert_frame_equal(with_stored, inline, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
        assert with_stored["reasons"].equals(inline["reasons"])
    days = 1.0
    webinar = 15 * (0.5 ** ((10 + days) / 10) + 0.5 ** ((30 + days) / 10))
    click = 3 * 0.5 ** ((5 + days) / 45)
    c1 = with_stored.row(0, named=True)
    assert c1["engagement_score"] == round(webinar + click, 1)
    assert (
        c1["reasons"]
        == f"+{round(webinar)} webinar attended ×2, last {days_ago(10).date()}; +3 email clicked {days_ago(5).date()}; "
        "scored without title, account"
    )


def test_past_the_next_event_the_sums_are_taken_inline(tiny):
    after = NOW + timedelta(days=3)  # C2's click (NOW + 2 days) counts now; the stored sums lack it
    assert not stored_engagement(tiny).covers(after) and not stored_engagement(tiny).covers(NOW - timedelta(days=1))
    sql, frame = scores(tiny, after, stored=True)
    assert "_lead_engagement" not in sql
    assert frame.filter(frame["contact_id"] == "C2")["engagement_score"].to_list() == [round(3 * 0.5 ** (1 / 45), 1)]


@pytest.fixture(scope="module")
def demo(demo_db):
    connection = duckdb.connect(demo_db, read_only=True)
    yield connection
    connection.close()


def test_on_the_demo_each_stored_sum_equals_the_sum_over_the_events(demo):
    """Lead by lead, to 1e-12: the demo's load stored the shipped rules' sums at its 'now'."""
    now = data_end(demo)
    assert stored_engagement(demo).as_of == now
    rule = next(r for r in load_rules().engagement if r.event == "touchpoint")
    inline = run(
        demo,
        f"select e.contact_id, {decayed_sum('touchpoint', '$rate', '$now_epoch')} as inline_sum, count(*) as n "
        "from touchpoints e where e.ts <= $now group by e.contact_id",
        {"rate": decay_rate(rule.half_life_days), "now_epoch": epoch_seconds(now), "now": now},
    )
    stored = run(
        demo, f"select contact_id, {sum_column('touchpoint', rule.half_life_days)} as stored_sum from _lead_engagement"
    )
    both = inline.join(stored, on="contact_id", how="left")
    assert both.height > 1000 and both["stored_sum"].null_count() == 0
    assert ((both["stored_sum"] - both["inline_sum"]).abs() <= 1e-12 * both["inline_sum"].abs()).all()


def test_rules_with_a_half_life_the_load_did_not_store_mix_stored_and_inline_sums(demo):
    text = default_rules_text().replace(
        "+6 per pricing_visit max 12 half_life 14 days", "+6 per pricing_visit max 12 half_life 7 days"
    )
    rules = parse_rules(text)
    assert any(r.half_life_days == 7 for r in rules.engagement)
    shape, now = scoring_shape(demo), data_end(demo)
    sql, params = score_statement(rules, shape, now)
    assert "_lead_engagement" in sql and "page_totals" in sql and "touch_totals" not in sql
    mixed = run(demo, sql, params).sort("contact_id")
    sql, params = score_statement(rules, replace(shape, engagement=None), now)
    inline = run(demo, sql, params).sort("contact_id")
    assert_frame_equal(mixed, inline, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    assert mixed["reasons"].equals(inline["reasons"]) and mixed["reasons"].str.contains("pricing page visit").any()
