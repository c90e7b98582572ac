"""The financial report: hand-computed ROI rows, periods, invariants on the demo, exports, CLI."""

from __future__ import annotations

import json
import math
from datetime import date

import openpyxl
import polars as pl
import pytest

from analytics.cli import main
from analytics.core.labels import label
from analytics.core.periods import custom_period, parse_period
from analytics.finance.costs import OpportunityCostAssumption, campaign_costs, monthly_campaign_costs
from analytics.finance.export import records, write_workbook
from analytics.finance.report import (
    TOTAL,
    FinancialReport,
    _change_table,
    assemble_report,
    financial_report,
    previous_summary,
    summarize,
)
from analytics.finance.roi import NOT_REACHED
from analytics.warehouse.runner import run
from tests.finance.fixtures import attributed_frame

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
PERIOD = custom_period(JAN, date(2026, 2, 28))
# linear is the reported model; first_touch only feeds the model spread
ATTRIBUTED = attributed_frame(
    [
        ("CMPA", "linear", JAN, 2.0, 10_000.0),
        ("CMPB", "linear", FEB, 1.0, 3_000.0),
        ("CMPC", "linear", FEB, 1.0, 700.0),
        ("(unattributed)", "linear", JAN, 1.0, 500.0),
        ("CMPA", "first_touch", JAN, 2.0, 12_000.0),
        ("CMPB", "first_touch", FEB, 1.0, 1_000.0),
        ("CMPC", "first_touch", FEB, 1.0, 700.0),
        ("(unattributed)", "first_touch", JAN, 1.0, 500.0),
    ]
)


def assemble(con, hours=10.0, rate=50.0):
    costs = campaign_costs(con, PERIOD.start, PERIOD.end, "headcount")
    monthly = monthly_campaign_costs(con, PERIOD.start, PERIOD.end, "headcount")
    campaigns = run(con, "select campaign_id, name as campaign_name, channel from campaigns")
    return assemble_report(
        PERIOD,
        costs,
        monthly,
        ATTRIBUTED,
        campaigns,
        "linear",
        gross_margin=0.5,
        opportunity=OpportunityCostAssumption(hours, rate),
    )


def rows(table: pl.DataFrame, key: str) -> dict:
    return {row[key]: row for row in table.iter_rows(named=True)}


def test_campaign_roi_by_hand(tiny):
    by_campaign, _, _ = assemble(tiny)
    got = rows(by_campaign, "campaign_id")
    a = got["CMPA"]  # 1300 booked + 600 allocated + 2 deals × 10 h × $50 = 2900
    assert a["total_investment"] == pytest.approx(2_900.0)
    assert a["net_revenue"] == pytest.approx(7_100.0)
    assert a["roi_percentage"] == 244.83
    assert a["roas"] == pytest.approx(10.0)
    assert a["cac"] == pytest.approx(1_450.0)
    assert a["payback_months"] == 0.6  # Jan gross profit 5000 covers 2900 in 0.58 months
    b = got["CMPB"]  # 800 + 800 + 500 = 2100; revenue 3000
    assert b["total_investment"] == pytest.approx(2_100.0)
    assert b["roi_percentage"] == 42.86
    assert b["payback_period"] == NOT_REACHED  # Jan 0 + Feb 1500 < 2100
    assert b["payback_months"] is None


def test_campaign_without_conversions_and_negative_net(tiny):
    by_campaign, _, _ = assemble(tiny)
    d = rows(by_campaign, "campaign_id")["CMPD"]
    assert d["attributed_conversions"] == 0.0 and d["attributed_revenue"] == 0.0
    assert d["net_revenue"] == -250.0
    assert d["roi_percentage"] == -100.0
    assert d["cac"] is None
    assert d["roas"] == 0.0
    assert d["payback_period"] == NOT_REACHED
    assert d["confidence_level"] == "low"


def test_zero_cost_campaign_has_no_roi(tiny):
    by_campaign, _, _ = assemble(tiny, hours=0.0)
    c = rows(by_campaign, "campaign_id")["CMPC"]  # revenue 700, no cost, sales time priced at 0
    assert c["total_investment"] == 0.0
    assert c["roi_percentage"] is None and c["payback_period"] is None and c["roas"] is None
    assert not any(isinstance(v, float) and math.isinf(v) for v in c.values())


def test_channel_and_total_are_the_roi_of_sums(tiny):
    by_campaign, by_channel, total = assemble(tiny)
    email = rows(by_channel, "channel")["email"]  # A + B
    assert email["total_investment"] == pytest.approx(5_000.0)
    assert email["roi_percentage"] == 160.0
    assert email["payback_months"] == 1.0  # Jan gross profit 5000 covers exactly 5000
    assert total["total_investment"] == pytest.approx(5_750.0)
    assert total["attributed_revenue"] == pytest.approx(13_700.0)
    assert total["roi_percentage"] == 138.26
    assert total["unattributed_revenue"] == 500.0 and total["closed_won_revenue"] == 14_200.0
    for name in ("total_investment", "attributed_revenue", "net_revenue", "attributed_conversions"):
        assert by_campaign[name].sum() == pytest.approx(total[name])
        assert by_channel[name].sum() == pytest.approx(total[name])


def test_summarize_recomputes_roi_from_the_sums(tiny):
    by_campaign, _, total = assemble(tiny)
    email = summarize(by_campaign.filter(pl.col("channel") == "email"))
    assert email["total_investment"] == pytest.approx(5_000.0) and email["roi_percentage"] == 160.0
    everything = summarize(by_campaign)
    assert everything["roi_percentage"] == total["roi_percentage"]
    assert everything["cac"] == pytest.approx(total["cac"]) and everything["roas"] == pytest.approx(total["roas"])


def test_model_spread_feeds_confidence(tiny):
    by_campaign, _, _ = assemble(tiny)
    reason = rows(by_campaign, "campaign_id")["CMPB"]["confidence_reason"]
    assert "models differ by 100%" in reason  # (3000 - 1000) / 2000


# ------------------------------------------------------------ on the demo warehouse

Q3 = parse_period("2026-Q3")


@pytest.fixture(scope="module")
def report(demo):
    return financial_report(demo, Q3.start, Q3.end, Q3.kind, model="linear", n_boot=20)


def test_campaign_rows_add_up_to_the_report_totals(report):
    total = report.totals.filter(pl.col("period") == "current").row(0, named=True)
    for name in (
        "total_investment",
        "campaign_costs",
        "operational_costs",
        "opportunity_costs",
        "attributed_revenue",
        "net_revenue",
        "attributed_conversions",
        "media_spend",
    ):
        assert report.by_campaign[name].sum() == pytest.approx(total[name], rel=1e-9)
        assert report.by_channel[name].sum() == pytest.approx(total[name], rel=1e-9)
    change_total = report.change.filter(pl.col("channel") == TOTAL).row(0, named=True)
    assert change_total["total_investment"] == pytest.approx(total["total_investment"])


def test_revenue_and_costs_reconcile_with_the_warehouse(report, demo):
    total = report.totals.filter(pl.col("period") == "current").row(0, named=True)
    won, spend = demo.execute(
        "select (select sum(amount) from opportunities where is_closed_won and close_date between $s and $e),"
        "       (select sum(amount) from campaign_costs where cost_date between $s and $e)",
        {"s": Q3.start, "e": Q3.end},
    ).fetchall()[0]
    assert total["closed_won_revenue"] == pytest.approx(won)
    assert total["campaign_costs"] + total["operational_costs"] == pytest.approx(spend)


def test_no_infinite_numbers_and_undefined_roi_only_without_investment(report):
    for table in (report.by_campaign, report.by_channel, report.totals):
        for row in table.iter_rows(named=True):
            assert not any(isinstance(v, float) and math.isinf(v) for v in row.values())
            assert (row["roi_percentage"] is None) == (row["total_investment"] == 0)


def test_previous_period_is_the_previous_quarter(report):
    previous = report.totals.filter(pl.col("period") == "previous").row(0, named=True)
    everything = previous_summary(report)
    assert everything["total_investment"] == pytest.approx(previous["total_investment"])
    assert everything["roi_percentage"] == previous["roi_percentage"]
    email = previous_summary(report, ("email",))
    assert 0 < email["total_investment"] < everything["total_investment"]
    assert (previous["start"], previous["end"]) == (date(2026, 4, 1), date(2026, 6, 30))
    summary = rows(report.summary, "metric")["total_investment"]
    assert summary["change"] == pytest.approx(summary["current"] - summary["previous"])


def test_workbook_has_the_sheets_formats_and_frozen_header(report, tmp_path):
    path = tmp_path / "roi.xlsx"
    write_workbook(report, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "By channel", "By campaign", "Period over period", "Assumptions"]
    sheet = book["By campaign"]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header == [label("column", c) for c in report.by_campaign.columns]  # people read the workbook
    assert {"Campaign ID", "Campaign", "Channel", "Total investment", "ROI (%)"} <= set(header)
    assert sheet.cell(1, 1).font.bold
    money = sheet.cell(2, header.index("Total investment") + 1)
    assert money.number_format == "#,##0.00" and isinstance(money.value, float)
    channels = {sheet.cell(r, header.index("Channel") + 1).value for r in range(2, sheet.max_row + 1)}
    assert channels and not channels & {"paid_search", "organic_search", "paid_social"}
    roi = sheet.cell(2, header.index("ROI (%)") + 1)
    assert roi.number_format == '0.00"%"'
    assert sheet.max_row == report.by_campaign.height + 1
    for name in ("Summary", "By channel", "Period over period"):
        assert book[name].freeze_panes == "A2"
    summary = book["Summary"]
    metric_rows = {summary.cell(r, 1).value: r for r in range(2, summary.max_row + 1)}
    assert summary.cell(metric_rows["ROI (%)"], 2).number_format == '0.00"%"'
    assert summary.cell(metric_rows["Total investment"], 2).number_format == "#,##0.00"
    assumptions = {row[0].value: row[1].value for row in book["Assumptions"].iter_rows(min_row=2)}
    assert assumptions["Attribution model"] == label("model", report.model)


def test_workbook_shows_a_dash_for_zero_cost_roi(tiny, tmp_path):
    by_campaign, by_channel, _ = assemble(tiny, hours=0.0)
    report = FinancialReport(
        period=PERIOD,
        previous_period=None,
        model="linear",
        allocation="headcount",
        totals=by_channel.head(0),
        summary=by_channel.head(0),
        by_channel=by_channel,
        by_campaign=by_campaign,
        change=by_channel.head(0),
    )
    path = tmp_path / "dash.xlsx"
    write_workbook(report, path)
    sheet = openpyxl.load_workbook(path)["By campaign"]
    header = [cell.value for cell in sheet[1]]
    ids = [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1)]
    assert sheet.cell(ids.index("CMPC") + 2, header.index("ROI (%)") + 1).value == "—"
    assert records(by_campaign)[ids.index("CMPC")]["roi_percentage"] is None


def run_cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_cli_json_records_by_channel(demo_db, capsys):
    code, out, _ = run_cli(
        capsys,
        "roi",
        "--db",
        demo_db,
        "--period",
        "2026-Q3",
        "--by",
        "channel",
        "--format",
        "json",
        "--n-boot",
        "0",
        "--no-compare",
    )
    assert code == 0
    data = json.loads(out)
    assert {
        "channel",
        "total_investment",
        "attributed_revenue",
        "net_revenue",
        "roi_percentage",
        "roas",
        "cac",
        "payback_period",
        "confidence_level",
    } <= set(data[0])


def test_cli_csv_and_xlsx(demo_db, capsys, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "roi",
        "--db",
        demo_db,
        "--from",
        "2026-07-01",
        "--to",
        "2026-07-31",
        "--model",
        "last_touch",
        "--format",
        "csv",
        "--n-boot",
        "0",
    )
    assert code == 0 and out.splitlines()[0].startswith("campaign_id,campaign_name,channel,")
    target = tmp_path / "r.xlsx"
    code, _, _ = run_cli(
        capsys, "roi", "--db", demo_db, "--period", "2026-09", "--format", "xlsx", "--out", str(target), "--n-boot", "0"
    )
    assert code == 0 and "Budget" in openpyxl.load_workbook(target).sheetnames


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period", "2026-13"), "not a month, quarter or year"),
        (("--period", "2026-Q3", "--from", "2026-01-01"), "not both"),
        ((), "Say which period"),
        (("--from", "2026-07-01"), "both ends"),
        (("--from", "2026-07-01", "--to", "July"), "not a date"),
        (("--period", "2026-Q3", "--model", "magic"), "Unknown attribution model"),
        (("--period", "2026-Q3", "--format", "xlsx"), "--out"),
    ],
)
def test_cli_errors_are_one_sentence(demo_db, capsys, args, message):
    code, _, err = run_cli(capsys, "roi", "--db", demo_db, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_budget_json(demo_db, capsys):
    code, out, _ = run_cli(capsys, "budget", "--db", demo_db, "--format", "json")
    data = json.loads(out)
    assert code == 0 and len(data) == 40
    assert {"spent", "budget", "burn_rate_per_month", "projected_spend", "run_out_date", "over_budget"} <= set(data[0])


def test_a_period_without_deals_or_costs_reports_zeros(demo):
    report = financial_report(demo, date(2024, 1, 1), date(2024, 1, 31), "month", n_boot=20)
    total = report.totals.row(0, named=True)
    assert total["total_investment"] == 0.0 and total["closed_won_revenue"] == 0.0
    assert total["roi_percentage"] is None and total["payback_period"] is None
    assert report.by_campaign.is_empty()


def test_period_over_period_change_by_hand():
    now = pl.DataFrame(
        {
            "channel": ["email", "webinar"],
            "total_investment": [200.0, 50.0],
            "attributed_revenue": [300.0, 0.0],
            "net_revenue": [100.0, -50.0],
            "roi_percentage": [50.0, -100.0],
        }
    )
    before = pl.DataFrame(
        {
            "channel": ["email", "events"],
            "total_investment": [100.0, 80.0],
            "attributed_revenue": [100.0, 40.0],
            "net_revenue": [0.0, -40.0],
            "roi_percentage": [0.0, -50.0],
        }
    )
    change = rows(
        _change_table(
            now,
            before,
            {"total_investment": 250.0, "attributed_revenue": 300.0, "net_revenue": 50.0, "roi_percentage": 20.0},
            {"total_investment": 180.0, "attributed_revenue": 140.0, "net_revenue": -40.0, "roi_percentage": -22.22},
        ),
        "channel",
    )
    assert change["email"]["total_investment_change_pct"] == 100.0
    assert change["email"]["attributed_revenue_change_pct"] == 200.0
    assert change["email"]["roi_change_pp"] == 50.0
    assert (
        change["webinar"]["total_investment_previous"] == 0.0 and change["webinar"]["roi_percentage_previous"] is None
    )
    assert change["events"]["total_investment"] == 0.0 and change["events"]["roi_change_pp"] is None
    assert change[TOTAL]["roi_change_pp"] == 42.22
    assert change[TOTAL]["net_revenue_change_pct"] == pytest.approx(225.0)  # (50 - -40) / |-40|


def test_a_model_that_gives_no_credit_counts_as_zero_in_the_spread(tiny):
    costs = campaign_costs(tiny, PERIOD.start, PERIOD.end, "headcount")
    monthly = monthly_campaign_costs(tiny, PERIOD.start, PERIOD.end, "headcount")
    campaigns = run(tiny, "select campaign_id, name as campaign_name, channel from campaigns")
    attributed = attributed_frame([("CMPA", "linear", JAN, 1.0, 1_000.0), ("CMPB", "first_touch", JAN, 1.0, 1_000.0)])
    by_campaign, _, _ = assemble_report(PERIOD, costs, monthly, attributed, campaigns, "linear")
    # CMPA: linear 1000, first_touch 0 -> (1000 - 0) / 500
    assert "models differ by 200%" in rows(by_campaign, "campaign_id")["CMPA"]["confidence_reason"]
