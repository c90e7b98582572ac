"""``python -m analytics demo``: build the demo warehouse."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from analytics.cli.common import DB_OPTION_HELP, command_app
from analytics.core.errors import RevLensError
from analytics.core.files import check_target
from analytics.core.settings import db_path
from analytics.demo.builder import DEFAULT_END, DEFAULT_TOUCHPOINTS, build_demo

app = command_app()

MAX_TOUCHPOINTS = 200_000_000
# The demo's 18 months must fit the plausible date range of imports (docs/import.md: 1900-2100).
FIRST_END = date(1902, 1, 1)
LAST_END = date(2099, 12, 31)


def is_demo_warehouse(path: Path) -> bool:
    """Whether ``path`` is a RevLens warehouse that ``demo`` built and nothing imported into since.

    The last load stamped in ``_meta`` is the demo build (or a ``refresh`` of it), and the
    import ledger, if there is one, is empty. Anything else holds someone's data.
    """
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        tables = {name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()}
        if "_meta" not in tables:
            return False
        meta = dict(con.execute("select key, value from _meta").fetchall())
        if not str(meta.get("last_load", "")).startswith(("demo ", "refresh")):
            return False
        return "import_runs" not in tables or con.execute("select count(*) from import_runs").fetchone()[0] == 0
    except duckdb.Error:
        return False
    finally:
        con.close()


def check_demo_target(path: Path, force: bool) -> None:
    """Refuse to replace anything but a demo warehouse (unless ``force``), and never a non-regular file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RevLensError(f"Cannot create the folder of --db {path} ({exc.strerror}); choose another path.") from None
    check_target(path, "--db", overwrite=True)  # not a device, pipe or folder
    check_target(Path(str(path) + ".building"), "--db", overwrite=True)  # the file written aside
    if path.exists() and not force and not is_demo_warehouse(path):
        raise RevLensError(
            f"--db {path} already exists and is not a RevLens demo warehouse (it may hold imports or other data); "
            "choose another path, or add --force to replace it."
        )


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
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing file even if it is not a RevLens demo warehouse.")
    ] = False,
) -> None:
    """Build a realistic demo warehouse with planted ground truth.

    An existing demo warehouse at --db is rebuilt; any other existing file (a warehouse with
    imports, a text file) is refused unless --force, and a device, pipe or folder always is.
    """
    if touchpoints < 2_000:
        raise RevLensError(f"--touchpoints {touchpoints} is too small; use at least 2000.")
    if touchpoints > MAX_TOUCHPOINTS:
        raise RevLensError(f"--touchpoints {touchpoints:,} is too large; use at most {MAX_TOUCHPOINTS:,}.")
    if not 0 <= seed < 2**32:
        raise RevLensError(f"--seed {seed} is out of range; use a whole number from 0 to {2**32 - 1}.")
    try:
        end = datetime.strptime(end_date, "%Y-%m-%d").date()
    except ValueError:
        raise RevLensError(f"--end-date {end_date!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-10-31.") from None
    if not FIRST_END <= end <= LAST_END:
        raise RevLensError(
            f"--end-date {end_date} is outside the demo's range; choose a day from {FIRST_END} to {LAST_END} "
            "(18 months of data end on it)."
        )
    path = db or db_path()
    check_demo_target(path, force)
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
