"""The engine options that ``attribution``, ``roi`` and ``health`` share: DuckDB (the default) or Spark.

``--engine spark --source DIR|TABLE_PREFIX`` runs the row-level SQL on Apache Spark over a lake
export (``python -m analytics export --format parquet --out DIR``) or catalog tables; the
session is ``local[2]`` unless ``--spark-master`` (``local[8]``, ``spark://host:7077``, ``yarn``)
or ``--spark-remote sc://host:port`` (a Spark Connect server) says otherwise, with
``--spark-conf key=value`` for any other Spark setting. The output is the same as DuckDB's.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.core.errors import RevLensError


class Engine(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    Engine, typer.Option("--engine", help="Where the row-level SQL runs: duckdb (the --db file) or spark (--source).")
]
SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="With --engine spark: an export folder (python -m analytics export; local or s3a://, abfss://, ...) "
        "or a prefix of catalog tables (lake.revlens.).",
    ),
]
MasterOption = Annotated[
    str | None, typer.Option("--spark-master", help="Spark master (default local[2]; local[N], spark://..., yarn).")
]
RemoteOption = Annotated[
    str | None, typer.Option("--spark-remote", help="A Spark Connect server instead of a local Spark: sc://host:port.")
]
ConfOption = Annotated[list[str] | None, typer.Option("--spark-conf", help="A Spark setting key=value (repeatable).")]


def parse_conf(items: list[str] | None) -> dict[str, str]:
    conf = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RevLensError(
                f"--spark-conf {item!r} is not key=value; write e.g. --spark-conf spark.driver.memory=8g."
            )
        conf[key.strip()] = value.strip()
    return conf


@contextlib.contextmanager
def warehouse(
    db: Path | None,
    engine: Engine = Engine.duckdb,
    source: str | None = None,
    master: str | None = None,
    remote: str | None = None,
    conf: list[str] | None = None,
) -> Iterator[object]:
    """The warehouse a command reads: a read-only DuckDB connection, or a Spark runner over ``source``."""
    if engine is Engine.duckdb:
        spark_options = [
            name
            for name, value in (
                ("--source", source),
                ("--spark-master", master),
                ("--spark-remote", remote),
                ("--spark-conf", conf),
            )
            if value
        ]
        if spark_options:
            raise RevLensError(f"{', '.join(spark_options)} go with --engine spark; add it, or drop them to read --db.")
        from analytics.core.settings import db_path
        from analytics.warehouse.connection import connect

        con = connect(db or db_path(), read_only=True)
        try:
            yield con
        finally:
            con.close()
        return
    if db is not None:
        raise RevLensError("--db is DuckDB's file; with --engine spark give the lake with --source DIR|TABLE_PREFIX.")
    if not source:
        raise RevLensError(
            "--engine spark needs --source: a folder written by `python -m analytics export --format parquet "
            "--out DIR`, or a prefix of catalog tables."
        )
    from analytics.warehouse.spark import spark_runner

    if sys.stderr.isatty():
        sys.stderr.write("Starting Spark…\n")
    with spark_runner(source, master, remote, parse_conf(conf)) as runner:
        yield runner
