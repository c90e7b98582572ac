"""``python -m analytics sla``: the SLA board (targets, percentiles, violations, availability, accuracy)."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer

from analytics.cli.common import command_app, parse_date

app = command_app()


class Format(str, Enum):
    json = "json"
    csv = "csv"


@app.command()
def sla(
    since: Annotated[str | None, typer.Option(help="First day measured (YYYY-MM-DD; default: 30 days ago).")] = None,
    format: Annotated[
        Format, typer.Option(help="json (every part of the board) or csv (one row per operation and class).")
    ] = Format.json,
) -> None:
    """Response times per operation and SLA class (p50/p95/p99 against the target), every violation,
    availability and accuracy against the spec's targets."""
    from analytics.jobs.sla import board
    from analytics.ops.store import ops_engine

    engine = ops_engine()
    result = board(engine, parse_date(since, "--since"))
    if format is Format.json:
        print(json.dumps(result, indent=2, default=str))
        return
    import csv

    columns = ["scope", "operation", "sla_class", "target_ms", "samples", "p50_ms", "p95_ms", "p99_ms", "max_ms"]
    columns += ["violations", "errors", "within_target_pct"]
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in result["operations"]:
        writer.writerow({"scope": "operation", **row})
    for row in result["classes"]:
        writer.writerow({"scope": "class", "operation": "", **row})
