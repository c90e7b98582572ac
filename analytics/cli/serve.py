"""``python -m analytics app``: start the RevLens app (``app.py`` started by Python is the server's launcher)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app, in_range

app = command_app()
APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"


@app.command()
def serve(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.", callback=in_range(1, 65535, "a port"))] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
) -> None:
    """Start the RevLens app on the warehouse (like `streamlit run app.py`, and ready for deep links)."""
    env = {**os.environ, **({"REVLENS_DB": str(db)} if db else {})}
    os.execve(sys.executable, [sys.executable, str(APP_SCRIPT), "--port", str(port), "--address", address], env)
