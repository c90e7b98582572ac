"""``python -m analytics health``, ``retention`` and ``churn``: customer health from the command line.

Machine names in CSV and JSON (scripts keep working when labels change); progress on stderr.
The weights and bands are the ones saved on the Health page (the ops store), or the spec's.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app, parse_date

health_app = command_app()
retention_app = command_app()
churn_app = command_app()

AS_OF_HELP = "Score as of this day (YYYY-MM-DD; default: the data's last day)."
HEALTH_COLUMNS = (
    "account_id",
    "account_name",
    "overall_score",
    "band",
    "usage_frequency",
    "feature_adoption",
    "engagement_trend",
    "support_health",
    "payment_stability",
    "marketing_engagement",
    "coverage",
    "health_trend",
)
CHURN_COLUMNS = (
    "account_id",
    "account_name",
    "segment",
    "arr",
    "churn_probability",
    "arr_at_risk",
    "driver_1",
    "driver_1_contribution",
    "driver_2",
    "driver_2_contribution",
    "driver_3",
    "driver_3_contribution",
)


class TableFormat(str, Enum):
    csv = "csv"
    json = "json"


def _open(db: Path | None):
    from analytics.core.settings import db_path
    from analytics.warehouse.connection import connect

    return connect(db or db_path(), read_only=True)


def _write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _emit(frame, fmt: TableFormat) -> None:
    if fmt is TableFormat.csv:
        _write(frame.write_csv())
    else:
        _write(json.dumps(frame.to_dicts(), indent=2, ensure_ascii=False, default=str))


def _config():
    from analytics.customers.config import load_config

    return load_config()


@health_app.command()
def health(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    format: Annotated[TableFormat, typer.Option(help="csv or json.")] = TableFormat.csv,
    publish_band_changes: Annotated[
        bool,
        typer.Option(help="Also emit a customer-health event for every account whose band changed (for a schedule)."),
    ] = False,
) -> None:
    """Each paying account's health score, band, six components, data coverage and 30-day trend."""
    from analytics.customers.health import health_scores

    day = parse_date(as_of, "--as-of")
    config = _config()
    con = _open(db)
    try:
        scores = health_scores(con, day, config)
    finally:
        con.close()
    if publish_band_changes:
        from analytics.customers.interventions import publish_band_changes as publish
        from analytics.ops.store import ops_engine

        with ops_engine().begin() as conn:
            events = publish(conn, scores, scores["as_of"][0] if scores.height else day, "python -m analytics health")
        typer.echo(f"Published {len(events):,} band changes as customer-health events.", err=True)
    _emit(scores.select(HEALTH_COLUMNS), format)


@retention_app.command()
def retention(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    format: Annotated[
        TableFormat, typer.Option(help="json: one object per flagged account; csv: one row per fired trigger.")
    ] = TableFormat.json,
) -> None:
    """The accounts with a fired retention trigger: risk level and each trigger with its evidence."""
    from analytics.customers.retention import retention_flags

    day = parse_date(as_of, "--as-of")
    config = _config()
    con = _open(db)
    try:
        flagged = retention_flags(con, day, config)
    finally:
        con.close()
    if format is TableFormat.json:
        _write(json.dumps(flagged, indent=2, ensure_ascii=False, default=str))
        return
    import polars as pl

    rows = [
        {
            "account_id": account["account_id"],
            "account_name": account["account_name"],
            "risk_level": account["risk_level"],
            "trigger": trigger["name"],
            "level": trigger["level"],
            "evidence": trigger["evidence"],
        }
        for account in flagged
        for trigger in account["triggers"]
    ]
    schema = dict.fromkeys(("account_id", "account_name", "risk_level", "trigger", "level", "evidence"), pl.String)
    _write(pl.DataFrame(rows, schema=schema).write_csv())


@churn_app.command()
def churn(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    format: Annotated[TableFormat, typer.Option(help="csv or json.")] = TableFormat.csv,
    report: Annotated[
        bool, typer.Option(help="The model card (metrics on the test months, reliability, drivers) instead.")
    ] = False,
) -> None:
    """Each account's probability of churning in the next 90 days, its ARR at risk and top 3 drivers."""
    from rich.console import Console

    from analytics.customers.churn import churn_analysis

    day = parse_date(as_of, "--as-of")
    config = _config()
    con = _open(db)
    try:
        with Console(stderr=True).status("Training the churn model on monthly snapshots…"):
            analysis = churn_analysis(con, day, config)
    finally:
        con.close()
    if not report:
        _emit(analysis.predictions.select(CHURN_COLUMNS), format)
        return
    card = {
        **analysis.card,
        "arr_at_risk": analysis.arr_at_risk,
        "reliability": analysis.reliability.to_dicts(),
        "drivers": analysis.drivers.to_dicts(),
        "coefficients": analysis.importance.select("feature", "driver", "coefficient").to_dicts(),
    }
    if format is TableFormat.json:
        _write(json.dumps(card, indent=2, ensure_ascii=False, default=str))
        return
    import polars as pl

    metrics = [{"metric": name, "value": value} for name, value in analysis.card["test"].items()]
    metrics.append({"metric": "arr_at_risk", "value": analysis.arr_at_risk})
    _write(pl.DataFrame(metrics, schema={"metric": pl.String, "value": pl.Float64}).write_csv())
