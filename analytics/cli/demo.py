"""``python -m analytics demo``: build the demo warehouse."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from analytics.cli.common import DB_OPTION_HELP, command_app
from analytics.core.errors import RevLensError
from analytics.core.settings import db_path
from analytics.demo.builder import DEFAULT_END, DEFAULT_TOUCHPOINTS, build_demo

app = command_app()


@app.command()
def demo(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    touchpoints: Annotated[
        int, typer.Option(help="Number of touchpoints; contacts and accounts scale with it.")
    ] = DEFAULT_TOUCHPOINTS,
    end_date: Annotated[
        str, typer.Option(help="Last day of the 18 months of data (YYYY-MM-DD).")
    ] = DEFAULT_END.isoformat(),
) -> None:
    """Build a realistic demo warehouse with planted ground truth."""
    if touchpoints < 2_000:
        raise RevLensError(f"--touchpoints {touchpoints} is too small; use at least 2000.")
    try:
        end = datetime.strptime(end_date, "%Y-%m-%d").date()
    except ValueError:
        raise RevLensError(f"--end-date {end_date!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-10-31.") from None
    path = db or db_path()
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("Starting", total=1.0)
        build_demo(
            path,
            seed=seed,
            touchpoints=touchpoints,
            end=end,
            progress=lambda fraction, message: bar.update(task, completed=fraction, description=message),
        )
    typer.echo(f"Built {path} in {time.perf_counter() - started:.1f} s (seed {seed}, {touchpoints:,} touchpoints).")
