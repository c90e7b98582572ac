"""Costs by category and overhead allocation, by hand on the tiny warehouse (analytics.finance.costs, budget)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics.core.errors import RevLensError
from analytics.finance.budget import budget_consumption, data_as_of
from analytics.finance.costs import UNALLOCATED, campaign_costs, cost_lines, monthly_campaign_costs

JAN, FEB, MAR_END = date(2026, 1, 1), date(2026, 2, 28), date(2026, 3, 31)


def by_id(table: pl.DataFrame) -> dict:
    return {row["campaign_id"]: row for row in table.iter_rows(named=True)}


def test_booked_costs_by_category_exclude_costs_outside_the_window(tiny):
    rows = by_id(campaign_costs(tiny, JAN, FEB, "headcount"))
    a = rows["CMPA"]
    assert a["media_spend"] == 1_000.0  # the Dec 15 row of 999 is outside the window
    assert a["creative_production"] == 300.0
    assert a["campaign_costs"] == 1_300.0
    assert rows["CMPB"]["campaign_costs"] == 800.0
    assert rows["CMPD"]["media_spend"] == 250.0
    assert "CMPC" not in rows  # no cost at all


def test_headcount_allocation_by_hand(tiny):
    # Jan pool 800 by hours A 30 : B 10 -> 600 / 200; Feb pool 600 by hours B 20 only -> 600
    rows = by_id(campaign_costs(tiny, JAN, FEB, "headcount"))
    assert rows["CMPA"]["allocated_overhead"] == pytest.approx(600.0)
    assert rows["CMPB"]["allocated_overhead"] == pytest.approx(800.0)
    assert rows["CMPD"]["allocated_overhead"] == 0.0
    assert rows["CMPB"]["operational_costs"] == pytest.approx(800.0)


def test_time_based_allocation_by_hand(tiny):
    # Jan: A runs 31 days, B 16 (Jan 16-31): 800 × 31/47 and 800 × 16/47.
    # Feb: B, C and D each run 28 days: 600 / 3 each.
    rows = by_id(campaign_costs(tiny, JAN, FEB, "time_based"))
    assert rows["CMPA"]["allocated_overhead"] == pytest.approx(800 * 31 / 47)
    assert rows["CMPB"]["allocated_overhead"] == pytest.approx(800 * 16 / 47 + 200)
    assert rows["CMPC"]["allocated_overhead"] == pytest.approx(200.0)  # overhead but no booked cost
    assert rows["CMPD"]["allocated_overhead"] == pytest.approx(200.0)


def test_as_booked_allocation_follows_each_rows_method(tiny):
    # Jan (no method -> headcount): A 600, B 200; Feb (time_based): B, C, D 200 each
    rows = by_id(campaign_costs(tiny, JAN, FEB, "as_booked"))
    assert rows["CMPA"]["allocated_overhead"] == pytest.approx(600.0)
    assert rows["CMPB"]["allocated_overhead"] == pytest.approx(400.0)
    assert rows["CMPC"]["allocated_overhead"] == pytest.approx(200.0)
    assert rows["CMPD"]["allocated_overhead"] == pytest.approx(200.0)
    lines = cost_lines(tiny, "CMPB", JAN, FEB, "as_booked").filter(pl.col("source") == "allocated")
    assert lines["allocation_method"].to_list() == ["headcount", "time_based"]


@pytest.mark.parametrize("method", ["as_booked", "headcount", "time_based"])
def test_a_pool_without_weights_stays_unallocated_and_totals_reconcile(tiny, method):
    table = campaign_costs(tiny, JAN, MAR_END, method)
    unallocated = table.filter(pl.col("campaign_id").is_null())
    assert unallocated["campaign_name"].to_list() == [UNALLOCATED]
    assert unallocated["allocated_overhead"].item() == pytest.approx(400.0)
    ledger = tiny.execute(
        "select sum(amount) from campaign_costs where cost_date between ? and ?", [JAN, MAR_END]
    ).fetchall()[0][0]
    assert (table["campaign_costs"].sum() + table["operational_costs"].sum()) == pytest.approx(ledger)


def test_cost_lines_add_up_to_the_campaign_total(tiny):
    lines = cost_lines(tiny, "CMPB", JAN, FEB, "headcount")
    assert set(lines["source"]) == {"booked", "allocated"}
    assert lines["amount"].sum() == pytest.approx(800.0 + 800.0)
    monthly = monthly_campaign_costs(tiny, JAN, FEB, "headcount").filter(pl.col("campaign_id") == "CMPB")
    assert dict(monthly.select("month", "cost").iter_rows()) == {
        JAN: pytest.approx(300.0),
        date(2026, 2, 1): pytest.approx(1_300.0),
    }


def test_bad_method_or_window_is_a_clear_error(tiny):
    with pytest.raises(RevLensError, match="as_booked, headcount, time_based"):
        campaign_costs(tiny, JAN, FEB, "by_magic")
    with pytest.raises(RevLensError, match="swap"):
        campaign_costs(tiny, FEB, JAN)


def test_budget_consumption_on_the_tiny_warehouse(tiny):
    assert data_as_of(tiny) == date(2026, 3, 31)  # end of the latest cost month
    table = {r["campaign_id"]: r for r in budget_consumption(tiny, date(2026, 1, 31)).iter_rows(named=True)}
    a = table["CMPA"]  # Dec 15 999 + Jan 1 1300 = 2299 over Dec 15..Jan 31 (48 days); budget 1500
    assert a["spent"] == 2_299.0 and a["status"] == "active"
    assert a["burn_rate_per_day"] == pytest.approx(2_299.0 / 48)
    assert a["projected_spend"] == pytest.approx(2_299.0) and a["over_budget"]
    assert a["run_out_date"] == date(2026, 1, 15)  # day ceil(1500 / (2299/48)) = 32 from Dec 15
    b = table["CMPB"]  # 100 over Jan 1..31, 28 days left to Feb 28; budget 700
    assert b["projected_spend"] == pytest.approx(100 + 100 / 31 * 28)
    assert b["run_out_date"] is None and not b["over_budget"]
    assert table["CMPC"]["status"] == "not started" and table["CMPC"]["consumption_pct"] is None
    assert table["CMPD"]["spent"] == 0.0  # its Feb cost is after the as-of day
