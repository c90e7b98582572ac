"""The Typer application every subcommand registers on."""

import typer

app = typer.Typer(
    name="analytics",
    help="RevLens: marketing analytics over a DuckDB warehouse, from the command line.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DB_OPTION_HELP = "DuckDB warehouse file (default: $REVLENS_DB or data/warehouse.duckdb)."
