"""``python -m analytics reallocate``: the budget advice for the next quarter (``docs/budget.md``)."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app
from analytics.core.errors import RevLensError

app = command_app()


class Objective(str, Enum):
    revenue = "revenue"
    ltv = "ltv"


class Format(str, Enum):
    json = "json"
    csv = "csv"


def parse_budget(text: str | None) -> float | None:
    """``--total-budget`` as a non-negative amount (``250000``, ``250,000``, ``$250000``)."""
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").replace("$", "").replace("_", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise RevLensError(f"--total-budget {text!r} is not a number; give an amount such as 250000.") from None
    if not value == value or value in (float("inf"), float("-inf")):
        raise RevLensError(f"--total-budget {text!r} is not a finite amount; give an amount such as 250000.")
    if value < 0:
        raise RevLensError(f"--total-budget {text!r} is negative; give the total to spend, zero or more.")
    return value


def parse_locks(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


@app.command()
def reallocate(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    total_budget: Annotated[
        str | None,
        typer.Option(help="Total budget for the next 13 weeks (default: the current allocation's total)."),
    ] = None,
    max_shift: Annotated[float, typer.Option(help="Largest change per channel, as a fraction of its spend.")] = 0.3,
    lock: Annotated[str | None, typer.Option(help="Channels kept at their current spend, comma-separated.")] = None,
    objective: Annotated[
        Objective, typer.Option(help="Maximize attributed revenue, or LTV-weighted revenue.")
    ] = Objective.revenue,
    model: Annotated[str, typer.Option(help="Attribution model whose credit the curves are fitted on.")] = "linear",
    curves: Annotated[
        Path | None, typer.Option(help="CSV or JSON of your own per-channel curves (docs/budget.md).")
    ] = None,
    format: Annotated[Format, typer.Option(help="json (the spec's shape) or csv (one row per channel).")] = Format.json,
) -> None:
    """Where next quarter's budget should move: Hill curves per channel, the optimal allocation, the backtest."""
    from analytics.attribution.models import model as check_model
    from analytics.core.settings import db_path
    from analytics.finance.reallocation.plan import analysis_period
    from analytics.finance.reallocation.plan import reallocate as advise
    from analytics.finance.reallocation.userfile import read_curves
    from analytics.warehouse.connection import connect

    total = parse_budget(total_budget)
    if not 0 <= max_shift <= 10:
        raise RevLensError(f"--max-shift {max_shift} is out of range; give a fraction such as 0.3 (30%).")
    check_model(model)
    user_curves = read_curves(curves) if curves is not None else None
    con = connect(db or db_path(), read_only=True)
    try:
        start, end = analysis_period(con)
        print(f"Fitting curves on {start} to {end} ({model} attribution) ...", file=sys.stderr)
        result = advise(
            con,
            start,
            end,
            total_budget=total,
            max_shift=max_shift,
            locks=parse_locks(lock),
            objective=objective.value,
            model=model,
            user_curves=user_curves,
        )
    finally:
        con.close()
    if format is Format.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(result.table().write_csv())
