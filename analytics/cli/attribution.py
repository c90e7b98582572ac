"""``python -m analytics attribution``: multi-touch attribution from a warehouse or a path file."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from analytics.attribution.engine import DIMENSIONS, MODELS, PATH_MODELS, attribute, attribute_paths
from analytics.attribution.paths import CONVERSIONS_COLUMN, NULL_COLUMN, PATH_COLUMN, VALUE_COLUMN, read_paths
from analytics.cli.common import DB_OPTION_HELP, command_app
from analytics.core.errors import RevLensError
from analytics.core.settings import db_path
from analytics.warehouse.connection import connect

app = command_app()


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def parse_models(text: str, allowed: tuple[str, ...] = MODELS) -> list[str]:
    """``"all"`` or a comma-separated list of model names."""
    if text.strip().lower() == "all":
        return list(allowed)
    return [name.strip() for name in text.split(",") if name.strip()]


def _print(result: pl.DataFrame, by: str, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(
            json.dumps(
                result.select(by, "model", "attributed_conversions", "attributed_revenue").to_dicts(),
                indent=2,
                default=str,
            )
        )
    elif output is OutputFormat.csv:
        typer.echo(result.write_csv(), nl=False)
    else:
        table = Table(*result.columns, title="Attribution")
        for row in result.iter_rows():
            table.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row])
        Console().print(table)


@app.command()
def attribution(
    model: Annotated[str, typer.Option("--model", help=f"Model(s), comma-separated, or all: {', '.join(MODELS)}.")],
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    paths: Annotated[
        Path | None, typer.Option(help="Path file in ChannelAttribution's format instead of a warehouse.")
    ] = None,
    by: Annotated[str, typer.Option(help=f"Dimension: {', '.join(DIMENSIONS)}.")] = "channel",
    lookback_days: Annotated[
        int, typer.Option(help="Eligible touches are at most this many days before the close date.")
    ] = 90,
    half_life_days: Annotated[float, typer.Option(help="Half-life of time_decay, in days.")] = 7.0,
    order: Annotated[int, typer.Option(help="Markov order, 1 to 3.")] = 1,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    sep: Annotated[str, typer.Option(help="Channel separator inside a path (--paths).")] = ">",
    path_col: Annotated[str, typer.Option(help="Path column (--paths).")] = PATH_COLUMN,
    conversions_col: Annotated[str, typer.Option(help="Conversions column (--paths).")] = CONVERSIONS_COLUMN,
    value_col: Annotated[
        str, typer.Option(help="Conversion value column (--paths; optional in the file).")
    ] = VALUE_COLUMN,
    null_col: Annotated[
        str, typer.Option(help="Non-converting count column (--paths; Markov and Shapley need it).")
    ] = NULL_COLUMN,
) -> None:
    """Attributed conversions and revenue per channel, campaign or touch type, under each model."""
    with Console(stderr=True).status("Attributing the conversions…"):  # stderr: stdout stays parseable
        result = _attribute(
            model,
            db,
            paths,
            by,
            lookback_days,
            half_life_days,
            order,
            sep,
            path_col,
            conversions_col,
            value_col,
            null_col,
        )
    _print(result, by, output)


def _attribute(
    model, db, paths, by, lookback_days, half_life_days, order, sep, path_col, conversions_col, value_col, null_col
) -> pl.DataFrame:
    if db is not None and paths is not None:
        raise RevLensError("Give either --db or --paths, not both: attribute a warehouse or a path file.")
    if paths is not None:
        if by != "channel":
            raise RevLensError(f"--by {by} needs a warehouse; a path file only has channels, so drop --by or use --db.")
        frame = read_paths(
            paths, sep=sep, path_col=path_col, conversions_col=conversions_col, value_col=value_col, null_col=null_col
        )
        return attribute_paths(frame, parse_models(model, PATH_MODELS), order=order)
    con = connect(db or db_path(), read_only=True)
    try:
        return attribute(
            con, parse_models(model), by=by, lookback_days=lookback_days, half_life_days=half_life_days, order=order
        )
    finally:
        con.close()
