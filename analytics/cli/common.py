"""What every subcommand module shares: how to make its Typer app, and common option help."""

from __future__ import annotations

import typer

DB_OPTION_HELP = "DuckDB warehouse file (default: $REVLENS_DB or data/warehouse.duckdb)."
WAIT_OPTION_HELP = (
    "Seconds to wait while the app or another process has the warehouse open "
    "(default: $REVLENS_WRITE_WAIT or 60; 0 gives up at once)."
)


def tell_stderr(message: str) -> None:
    """Say on stderr (stdout stays parseable) that a writer waits for the warehouse, and why."""
    import sys

    print(message, file=sys.stderr, flush=True)


def command_app(help: str | None = None, group: bool = False) -> typer.Typer:
    """A Typer app for one subcommand (one ``@app.command()``) or, with ``group``, several of them.

    A group without a subcommand shows its help; a single command runs with its defaults.
    """
    app = typer.Typer(help=help, no_args_is_help=group, add_completion=False, pretty_exceptions_enable=False)
    if group:  # a callback makes it a group even with a single subcommand (``sync hubspot``)
        app.callback()(lambda: None)
    return app


def parse_date(text: str | None, option: str):
    """``YYYY-MM-DD`` as a date (None stays None); anything else is a one-sentence user error."""
    from datetime import date

    from analytics.core.errors import RevLensError

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RevLensError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-07-01.") from None


def in_range(low: float | None = None, high: float | None = None, what: str = "a number"):
    """A Typer option callback: the value must be finite (no nan/inf) and within ``[low, high]``.

    Out of range is Typer's usage error (status 2, one sentence naming the option and the range),
    so a huge ``--lookback-days`` or ``--hourly-rate nan`` never reaches SQL or numpy.
    """
    import math

    def check(value):
        if value is None:
            return value
        if isinstance(value, float) and not math.isfinite(value):
            raise typer.BadParameter(f"{value} is not a finite number; give {what}.")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"from {low:g} to {high:g}"
                if low is not None and high is not None
                else (f"at least {low:g}" if low is not None else f"at most {high:g}")
            )
            raise typer.BadParameter(f"{value:g} is out of range; give {what} {bounds}.")
        return value

    return check


MAX_DAYS = 36_500  # a hundred years: more is a typo, and overflows date arithmetic
MAX_ROWS = 10_000_000  # a --limit beyond this is a typo (and overflows SQLite's integers)


def report_period(period: str | None, start: str | None, end: str | None):
    """The :class:`~analytics.core.periods.ReportPeriod` of ``--period`` or ``--from``/``--to`` (None: neither).

    ``--period`` is a month (2026-09), quarter (2026-Q3) or year (2026); both options at once,
    or one end of a range, is a one-sentence user error.
    """
    from analytics.core.errors import RevLensError
    from analytics.core.periods import custom_period, parse_period

    if period and (start or end):
        raise RevLensError("Give either --period or --from/--to, not both.")
    if period:
        return parse_period(period)
    if start and end:
        return custom_period(parse_date(start, "--from"), parse_date(end, "--to"))
    if start or end:
        raise RevLensError("A custom range needs both ends: give --from DATE and --to DATE (YYYY-MM-DD).")
    return None
