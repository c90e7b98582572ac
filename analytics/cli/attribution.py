"""``python -m analytics attribution``: multi-touch attribution from a warehouse or a path file."""

from __future__ import annotations

import contextlib
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.attribution.models import MODELS, PATH_MODELS
from analytics.attribution.paths import CONVERSIONS_COLUMN, NULL_COLUMN, PATH_COLUMN, VALUE_COLUMN
from analytics.attribution.window import DIMENSIONS
from analytics.cli.common import DB_OPTION_HELP, MAX_DAYS, command_app, in_range, report_period
from analytics.cli.engine import ConfOption, Engine, EngineOption, MasterOption, RemoteOption, SourceOption
from analytics.core.cells import csv_text, escape_markup
from analytics.core.errors import RevLensError

COLUMNS = ("model", "attributed_conversions", "attributed_revenue")

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


def _print(columns: list[str], rows: list[tuple], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(json.dumps([dict(zip(columns, row)) for row in rows], indent=2, default=str))
    elif output is OutputFormat.csv:
        import polars as pl  # polars' own float formatting, as the CSV has always had

        frame = pl.DataFrame(
            rows, schema={c: pl.Float64 if c.startswith("attributed_") else pl.Utf8 for c in columns}, orient="row"
        )
        typer.echo(csv_text(frame), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, title="Attribution")
        for row in rows:
            table.add_row(*[f"{v:,.2f}" if isinstance(v, float) else escape_markup(v) for v in row])
        Console().print(table)


def _show_sql(statements: list[dict]) -> None:
    """Every statement the run sent to the warehouse, in order, with its parameters (to stderr)."""
    for number, statement in enumerate(statements, start=1):
        sys.stderr.write(f"-- {number}. {statement['name']} ({statement['kind']})\n")
        if statement["params"]:
            sys.stderr.write(f"-- parameters: {statement['params']!r}\n")
        sys.stderr.write(statement["sql"].strip() + ";\n\n")


def _status(message: str):
    """A spinner on stderr (stdout stays parseable); nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


@app.command()
def attribution(
    model: Annotated[str, typer.Option("--model", help=f"Model(s), comma-separated, or all: {', '.join(MODELS)}.")],
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    paths: Annotated[
        Path | None, typer.Option(help="Path file in ChannelAttribution's format instead of a warehouse.")
    ] = None,
    by: Annotated[str, typer.Option(help=f"Dimension: {', '.join(DIMENSIONS)}.")] = "channel",
    lookback_days: Annotated[
        int,
        typer.Option(
            help="Eligible touches are at most this many days before the close date.",
            callback=in_range(0, MAX_DAYS, "days"),
        ),
    ] = 90,
    half_life_days: Annotated[
        float, typer.Option(help="Half-life of time_decay, in days.", callback=in_range(0.001, MAX_DAYS, "days"))
    ] = 7.0,
    order: Annotated[int, typer.Option(help="Markov order, 1 to 3.", callback=in_range(1, 3, "an order"))] = 1,
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
    show_sql: Annotated[
        bool, typer.Option("--show-sql", help="Print every SQL statement run, with its parameters, to stderr.")
    ] = False,
    engine: EngineOption = Engine.duckdb,
    source: SourceOption = None,
    spark_master: MasterOption = None,
    spark_remote: RemoteOption = None,
    spark_conf: ConfOption = None,
    period: Annotated[
        str | None,
        typer.Option(help="Only deals closing in a month (2026-09), quarter (2026-Q3) or year (2026)."),
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Only deals closing on or after (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Only deals closing on or before (YYYY-MM-DD).")] = None,
) -> None:
    """Attributed conversions and revenue per channel, campaign or touch type, under each model."""
    from analytics.warehouse.runner import recording

    recorder = recording() if show_sql else contextlib.nullcontext([])
    with recorder as statements, _status("Attributing the conversions…"):
        columns, rows = _attribute(
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
            (engine, source, spark_master, spark_remote, spark_conf),
            report_period(period, from_, to),
        )
    if show_sql:
        _show_sql(statements)
    _print(columns, rows, output)


def _attribute(
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
    engine_options=(Engine.duckdb, None, None, None, None),
    closing=None,
) -> tuple[list[str], list[tuple]]:
    if db is not None and paths is not None:
        raise RevLensError("Give either --db or --paths, not both: attribute a warehouse or a path file.")
    if paths is not None and engine_options[0] is not Engine.duckdb:
        raise RevLensError(
            "A path file is attributed in-process; drop --engine spark, or attribute the lake with --source."
        )
    if paths is not None and closing is not None:
        raise RevLensError("A path file has no dates: drop --period/--from/--to, or attribute a warehouse (--db).")
    if paths is not None:
        from analytics.attribution.engine import attribute_paths
        from analytics.attribution.paths import read_paths

        if paths.exists() and not paths.is_file():
            raise RevLensError(f"--paths {paths} is not a file; give a CSV path file in ChannelAttribution's format.")
        if by != "channel":
            raise RevLensError(f"--by {by} needs a warehouse; a path file only has channels, so drop --by or use --db.")
        frame = read_paths(
            paths, sep=sep, path_col=path_col, conversions_col=conversions_col, value_col=value_col, null_col=null_col
        )
        result = attribute_paths(frame, parse_models(model, PATH_MODELS), order=order)
        return result.columns, result.rows()
    from analytics.attribution.engine import attribute_rows
    from analytics.attribution.window import JourneyWindow
    from analytics.cli.engine import warehouse

    models = parse_models(model)
    window = JourneyWindow(
        by=by,
        lookback_days=lookback_days,
        close_from=closing.start if closing else None,
        close_to=closing.end if closing else None,
    )
    with warehouse(db, *engine_options) as con:
        if closing is not None:  # an empty period exits 2 with the data's range, not an empty table
            from analytics.finance.coverage import require_data

            require_data(con, closing.start, closing.end, costs=False, what=closing.label)
        rows = attribute_rows(con, models, window, half_life_days=half_life_days, order=order)
    return [by, *COLUMNS], rows
