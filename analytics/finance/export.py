"""The finance report's exports: JSON-ready records and the formatted Excel workbook."""

from __future__ import annotations

import io
import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from analytics.core.cells import neutralize
from analytics.core.labels import VALUE_KINDS, label
from analytics.core.numbers import DASH
from analytics.finance.report import COST_COLUMNS, FinancialReport

MONEY_COLUMNS = COST_COLUMNS + (
    "opportunity_costs",
    "total_investment",
    "attributed_revenue",
    "net_revenue",
    "cac",
    "revenue_low",
    "revenue_high",
    "unattributed_revenue",
    "closed_won_revenue",
)


def records(table: pl.DataFrame) -> list[dict]:
    """JSON-ready records: dates as ISO strings, undefined numbers (zero-cost ROI) as ``None``."""
    return [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        for row in table.iter_rows(named=True)
    ]


_PERCENT_COLUMNS = {
    "roi_percentage",
    "roi_percentage_previous",
    "roi_change_pp",
    "change_pct",
    "total_investment_change_pct",
    "attributed_revenue_change_pct",
    "net_revenue_change_pct",
}
_RATIO_COLUMNS = {"roas", "attributed_conversions", "payback_months"}
SUMMARY_VALUE_COLUMNS = ("current", "previous", "change")
_METRIC_FORMATS = {
    "roi_percentage": "percent",
    "roas": "ratio",
    "attributed_conversions": "ratio",
    "payback_months": "ratio",
}


EXCEL_LARGEST = 9.99999999999999e307  # Excel's largest number; beyond it a cell would read back as inf


def write_cell(sheet, row: int, col: int, value, fmt=None) -> None:
    """One cell by its type: text as a neutralized string (never a formula or link), numbers as numbers
    (a non-finite one as "—", which Excel cannot hold), booleans as booleans."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        if math.isfinite(value) and abs(value) <= EXCEL_LARGEST:
            sheet.write_number(row, col, value, fmt)
        else:
            sheet.write_string(row, col, DASH, fmt)
    elif isinstance(value, datetime | date):
        sheet.write_datetime(row, col, value, fmt)
    else:
        sheet.write_string(row, col, neutralize("" if value is None else str(value)), fmt)


def write_workbook(
    report: FinancialReport, target: str | Path | io.BytesIO, budget: pl.DataFrame | None = None
) -> None:
    """Write the report as a formatted Excel workbook: one sheet per view (and ``Budget``).

    People read it: headers, metric names, channels, models, categories and confidence levels
    are labels (:mod:`analytics.core.labels`), campaigns keep their name beside their id
    (the CLI's CSV and JSON keep machine names). Money as ``#,##0.00``, percentages as ``0.00"%"`` (values are already in percent),
    ratios and months as ``0.00``, dates as ``yyyy-mm-dd``; the header row is bold and
    frozen, every sheet has an autofilter, and an undefined ROI is written as "—". Every text cell is
    written as a string (never a formula), neutralized by :func:`analytics.core.cells.neutralize`.
    An ``Assumptions`` sheet records the model, allocation and assumptions used.
    """
    import xlsxwriter

    views = report.views()
    if budget is not None:
        views["Budget"] = budget
    # strings_to_formulas/urls off: a text cell is text, whatever it starts with (OWASP CSV injection)
    workbook = xlsxwriter.Workbook(
        target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": False}
    )
    header = workbook.add_format({"bold": True, "bg_color": "#DDE5F0", "border": 1, "text_wrap": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    percent = workbook.add_format({"num_format": '0.00"%"'})
    ratio = workbook.add_format({"num_format": "0.00"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    dash = workbook.add_format({"align": "right"})
    for sheet_name, table in views.items():
        sheet = workbook.add_worksheet(sheet_name)
        for col, name in enumerate(table.columns):
            sheet.write_string(0, col, neutralize(label("column", name)), header)
            money_like = (
                name in MONEY_COLUMNS
                or name.endswith("_previous")
                and name[:-9] in MONEY_COLUMNS
                or name
                in {
                    "budget",
                    "spent",
                    "projected_spend",
                    "burn_rate_per_day",
                    "burn_rate_per_month",
                    "current",
                    "previous",
                    "change",
                }
            )
            fmt = (
                percent
                if name in _PERCENT_COLUMNS or name == "consumption_pct"
                else ratio
                if name in _RATIO_COLUMNS
                else day
                if table.schema[name] == pl.Date
                else money
                if money_like
                else None
            )
            width = max(12, min(40, len(name) + 2))
            if table.schema[name] == pl.String:
                width = max(width, min(48, max((len(v) for v in table[name].drop_nulls()), default=0) + 2))
            sheet.set_column(col, col, width, fmt)
            # the Summary sheet has one metric per row: its format goes by the metric
            metrics = (
                table["metric"].to_list()
                if "metric" in table.columns and name in SUMMARY_VALUE_COLUMNS
                else [None] * table.height
            )
            kind = VALUE_KINDS.get(name) if table.schema[name] == pl.String else None
            if name == "metric":
                kind = "column"
            for row, (value, metric) in enumerate(zip(table[name].to_list(), metrics), start=1):
                if kind and value is not None:
                    value = label(kind, value) if not value.startswith("(") else label("key", value)
                if value is None:
                    if name.startswith("roi_percentage") or metric == "roi_percentage":
                        sheet.write_string(row, col, DASH, dash)
                    continue
                if isinstance(value, date):
                    sheet.write_datetime(row, col, value, day)
                elif metric in _METRIC_FORMATS:
                    write_cell(sheet, row, col, value, percent if _METRIC_FORMATS[metric] == "percent" else ratio)
                else:
                    write_cell(sheet, row, col, value)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(table.height, 1), max(len(table.columns) - 1, 0))
    sheet = workbook.add_worksheet("Assumptions")
    sheet.write_row(0, 0, (label("column", "assumption"), label("column", "value")), header)
    items = {
        "period": report.period.label,
        "start": report.period.start.isoformat(),
        "end": report.period.end.isoformat(),
        **report.assumptions,
    }
    value_kinds = {"attribution_model": "model", "overhead_allocation": "allocation"}
    for row, (key, value) in enumerate(items.items(), start=1):
        shown = label(value_kinds[key], value) if key in value_kinds and isinstance(value, str) else value
        write_cell(sheet, row, 0, label("column", key))
        write_cell(sheet, row, 1, shown)
    sheet.set_column(0, 1, 24)
    sheet.freeze_panes(1, 0)
    workbook.close()


def workbook_bytes(report: FinancialReport, budget: pl.DataFrame | None = None) -> bytes:
    """The workbook of :func:`write_workbook` as bytes (for a download button)."""
    buffer = io.BytesIO()
    write_workbook(report, buffer, budget)
    return buffer.getvalue()
