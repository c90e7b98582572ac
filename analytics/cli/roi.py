"""``python -m analytics roi`` (campaign / channel ROI report) and ``budget`` (budget consumption)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from analytics.cli.common import DB_OPTION_HELP, MAX_DAYS, command_app, in_range
from analytics.cli.engine import ConfOption, Engine, EngineOption, MasterOption, RemoteOption, SourceOption, warehouse
from analytics.core.cells import csv_text, escape_markup
from analytics.core.errors import RevLensError
from analytics.core.files import check_target, write_output
from analytics.core.money import amount
from analytics.core.numbers import percent
from analytics.core.periods import check_plausible, custom_period, parse_period
from analytics.core.settings import db_path
from analytics.finance.budget import budget_consumption
from analytics.finance.costs import OpportunityCostAssumption
from analytics.finance.coverage import require_data
from analytics.finance.export import records, workbook_bytes
from analytics.finance.report import DEFAULT_GROSS_MARGIN, DEFAULT_N_BOOT, financial_report
from analytics.warehouse.connection import connect

roi_app = command_app()
budget_app = command_app()


class By(str, Enum):
    campaign = "campaign"
    channel = "channel"


class ReportFormat(str, Enum):
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


class BudgetFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class Allocation(str, Enum):
    as_booked = "as_booked"
    headcount = "headcount"
    time_based = "time_based"


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise RevLensError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-07-01.") from None
    check_plausible(day, day)
    return day


def _emit(table: pl.DataFrame, fmt: str, out: Path | None, force: bool = False) -> None:
    """Write CSV (text cells neutralized against formula injection) or JSON records to ``out`` or stdout."""
    if fmt == "csv":
        text = csv_text(table)
    else:
        text = json.dumps(records(table), indent=2, ensure_ascii=False, default=str) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        write_output(out, text, "--out", force)
        typer.echo(f"Wrote {table.height} rows to {out}.", err=True)


@roi_app.command()
def roi(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day of a custom range (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option(help="Last day of a custom range (YYYY-MM-DD).")] = None,
    period: Annotated[str | None, typer.Option(help="A month (2026-09), quarter (2026-Q3) or year (2026).")] = None,
    model: Annotated[
        str, typer.Option(help="Attribution model (linear, first_touch, markov, shapley, ...).")
    ] = "linear",
    by: Annotated[By, typer.Option(help="Rows of the CSV/JSON output.")] = By.campaign,
    format: Annotated[
        ReportFormat, typer.Option(help="csv or json (the --by rows), xlsx (every view).")
    ] = ReportFormat.csv,
    out: Annotated[Path | None, typer.Option(help="Output file (required for xlsx; stdout otherwise).")] = None,
    allocation: Annotated[
        Allocation,
        typer.Option(help="How overhead not booked to a campaign is allocated: each row's own method, or one for all."),
    ] = Allocation.as_booked,
    lookback_days: Annotated[
        int, typer.Option(help="Attribution lookback window in days.", callback=in_range(0, MAX_DAYS, "days"))
    ] = 90,
    gross_margin: Annotated[
        float,
        typer.Option(help="Gross margin for the payback (fraction).", callback=in_range(None, None, "a fraction")),
    ] = DEFAULT_GROSS_MARGIN,
    hours_per_won_deal: Annotated[
        float, typer.Option(help="Opportunity cost: sales hours per won deal.", callback=in_range(0, 10_000, "hours"))
    ] = OpportunityCostAssumption.hours_per_won_deal,
    hourly_rate: Annotated[
        float,
        typer.Option(
            help="Opportunity cost: loaded cost of a sales hour (USD).", callback=in_range(0, 1e6, "a rate in USD")
        ),
    ] = OpportunityCostAssumption.loaded_hourly_rate,
    n_boot: Annotated[
        int,
        typer.Option(
            help="Bootstrap resamples for the confidence level (0 skips).", callback=in_range(0, 100_000, "resamples")
        ),
    ] = DEFAULT_N_BOOT,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists.")] = False,
    compare: Annotated[bool, typer.Option(help="Also compute the previous period (period over period).")] = True,
    engine: EngineOption = Engine.duckdb,
    source: SourceOption = None,
    spark_master: MasterOption = None,
    spark_remote: RemoteOption = None,
    spark_conf: ConfOption = None,
) -> None:
    """Campaign ROI under an attribution model: investment, revenue, net, ROI %, ROAS, CAC, payback, confidence."""
    if period and (from_ or to):
        raise RevLensError("Give either --period or --from/--to, not both.")
    if period:
        window = parse_period(period)
    elif from_ and to:
        window = custom_period(_date(from_, "--from"), _date(to, "--to"))
    elif from_ or to:
        raise RevLensError("A custom range needs both ends: give --from DATE and --to DATE (YYYY-MM-DD).")
    else:
        raise RevLensError("Say which period to report: --period 2026-Q3 (or 2026-09, 2026), or --from DATE --to DATE.")
    if format is ReportFormat.xlsx and out is None:
        raise RevLensError("An Excel workbook needs a file: add --out report.xlsx.")
    if out is not None:
        check_target(out, "--out", force)  # before the work, so a bad --out fails fast
    if format is ReportFormat.xlsx and engine is Engine.spark:
        raise RevLensError(
            "The Excel workbook (its budget sheet) is made from the DuckDB warehouse; "
            "with --engine spark use --format csv or json."
        )
    with (
        warehouse(db, engine, source, spark_master, spark_remote, spark_conf) as con,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar,
    ):
        require_data(con, window.start, window.end, costs=True, what=window.label)  # else exit 2 with the range
        task = bar.add_task("Starting", total=1.0)
        report = financial_report(
            con,
            window.start,
            window.end,
            window.kind,
            model=model,
            allocation=allocation.value,
            lookback_days=lookback_days,
            gross_margin=gross_margin,
            hours_per_won_deal=hours_per_won_deal,
            loaded_hourly_rate=hourly_rate,
            n_boot=n_boot,
            compare=compare,
            progress=lambda fraction, message: bar.update(task, completed=fraction, description=message),
        )
        budget = budget_consumption(con) if format is ReportFormat.xlsx else None
    if format is ReportFormat.xlsx:
        write_output(out, workbook_bytes(report, budget), "--out", force)
        typer.echo(
            f"Wrote {out} ({', '.join(report.views())}, Budget, Assumptions) for {report.period.label}.", err=True
        )
        return
    _emit(report.by_campaign if by is By.campaign else report.by_channel, format.value, out, force)


@budget_app.command()
def budget(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Day to measure on (default: end of the latest cost month).")
    ] = None,
    format: Annotated[BudgetFormat, typer.Option(help="table (terminal), csv or json.")] = BudgetFormat.table,
    out: Annotated[Path | None, typer.Option(help="Output file for csv/json (stdout otherwise).")] = None,
    over_only: Annotated[bool, typer.Option(help="Only campaigns projected over budget.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists.")] = False,
) -> None:
    """Budget consumption per campaign: spent vs budget, burn rate, projected spend, run-out date."""
    if out is not None:
        check_target(out, "--out", force)
    con = connect(db or db_path(), read_only=True)
    try:
        table = budget_consumption(con, _date(as_of, "--as-of"))
    finally:
        con.close()
    if over_only:
        table = table.filter(pl.col("over_budget"))
    if format is not BudgetFormat.table:
        _emit(table, format.value, out, force)
        return
    view = Table(title=f"Budget consumption ({table.height} campaigns)")
    for name in (
        "campaign",
        "name",
        "status",
        "budget",
        "spent",
        "used",
        "burn / month",
        "projected",
        "runs out",
        "over",
    ):
        view.add_column(name, justify="left" if name in ("campaign", "name", "status") else "right", no_wrap=True)
    for row in table.iter_rows(named=True):
        view.add_row(
            escape_markup(row["campaign_id"]),  # data, not Rich markup ("[/b]", "[link=...]")
            escape_markup(row["campaign_name"]),
            escape_markup(row["status"]),
            amount(row["budget"]),
            amount(row["spent"]),
            percent(row["consumption_pct"]),
            amount(row["burn_rate_per_month"]),
            amount(row["projected_spend"]),
            str(row["run_out_date"] or "—"),
            "[red]yes[/red]" if row["over_budget"] else "no",
        )
    Console(width=max(Console().width, 150)).print(view)
