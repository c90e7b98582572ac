"""What every subcommand module shares: how to make its Typer app, and common option help."""

from __future__ import annotations

import typer

DB_OPTION_HELP = "DuckDB warehouse file (default: $REVLENS_DB or data/warehouse.duckdb)."


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
