"""The Spark runner: RevLens's queries on Apache Spark, over a lake export or catalog tables.

:class:`SparkRunner` has the runner's three methods (``run``, ``execute``, ``rows``), so every
function that takes a warehouse connection takes it (``analytics.warehouse.runner.runner_for``).
Each statement is translated by :func:`analytics.warehouse.dialects.to_spark`, its ``$name``
values bound as Spark's named parameters (``:name``). The tables it reads are registered
on first use from the :class:`~analytics.warehouse.lake.LakeSource` (checked against RevLens's
schema); a temporary table (``create temp table x as select ...``) is computed once and kept
(persisted, then registered as a view): a plain temp view would be recomputed at every read.

Only aggregates come back: :attr:`SparkRunner.collected` records the rows each statement
brought to the driver (the engine benchmark reports the largest).

:func:`open_spark` starts the session: ``local[N]`` (the default, ``local[2]``; Spark's own
``spark.master`` settings for a cluster), or a Spark Connect server (``sc://host:port``).
Errors become a :class:`SparkError` of one sentence, Spark's message without the JVM stack trace.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from analytics.core.errors import RevLensError
from analytics.warehouse.dialects import parse, referenced_tables, rewrite
from analytics.warehouse.lake import LakeSource, expected_columns, read_manifest, schema_problem
from analytics.warehouse.runner import Params, Query, bound, name_of, sql_of

if TYPE_CHECKING:
    import polars as pl

DEFAULT_MASTER = "local[2]"
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
CONNECT_TIMEOUT_S = 10.0
# Settings every session gets (a user's --spark-conf wins): the warehouse's timestamps carry no
# time zone, so the session's is UTC (DuckDB's epoch_us and Spark's unix_micros then agree).
SESSION_CONF = {"spark.sql.session.timeZone": "UTC"}
LOCAL_CONF = {  # a session this process starts (a Spark Connect server keeps its own)
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "8",  # adaptive execution splits and merges from there
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}",
}


class SparkError(RevLensError):
    """A Spark job or connection failed; the message is Spark's, without the JVM stack trace."""


def spark_message(exc: BaseException) -> str:
    """Spark's own message of ``exc``: the first lines before any stack trace, without the error class."""
    text = ""
    get_message = getattr(exc, "getMessage", None)
    if callable(get_message):
        with contextlib.suppress(Exception):
            text = get_message() or ""
    if not text:
        java = getattr(exc, "java_exception", None)
        if java is not None:
            with contextlib.suppress(Exception):
                text = java.getMessage() or ""
    text = text or str(exc)
    lines = []
    for line in text.splitlines():
        if re.match(r"\s*(at |JVM stacktrace:|Caused by:|\.\.\. \d+ more|== )", line) or line.startswith("\t"):
            break
        if line.strip():
            lines.append(line.strip())
    message = " ".join(lines) or type(exc).__name__
    return message if len(message) <= 600 else message[:597] + "..."


def _spark_errors() -> tuple[type[BaseException], ...]:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


@contextlib.contextmanager
def spark_errors(what: str) -> Iterator[None]:
    """Turn a Spark failure while doing ``what`` into a :class:`SparkError`."""
    try:
        yield
    except RevLensError:
        raise
    except _spark_errors() as exc:
        raise SparkError(f"Spark failed {what}: {spark_message(exc)}") from None


# --------------------------------------------------------------------------- the session


def _check_reachable(remote: str) -> None:
    """A Spark Connect URL that answers on its port, or a :class:`SparkError` that says so."""
    parsed = urlparse(remote)
    if parsed.scheme != "sc" or not parsed.hostname:
        raise SparkError(
            f"--spark-remote {remote!r} is not a Spark Connect URL; write it as sc://HOST:PORT (port 15002 by default)."
        )
    port = parsed.port or 15002
    try:
        with socket.create_connection((parsed.hostname, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SparkError(
            f"Cannot reach the Spark Connect server at {parsed.hostname}:{port} ({reason}); start it "
            "(sbin/start-connect-server.sh on the cluster) or correct --spark-remote."
        ) from None


def open_spark(master: str | None = None, remote: str | None = None, conf: dict[str, str] | None = None):
    """A Spark session: ``local[2]`` by default, ``master`` (``local[N]``, ``spark://...``, ``yarn``),
    or a Spark Connect server at ``remote`` (``sc://host:port``). ``conf``: more Spark settings."""
    if master and remote:
        raise RevLensError("Give either --spark-master or --spark-remote, not both.")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RevLensError(
            "The Spark engine needs pyspark; install it with `pip install -r requirements-dev.txt` "
            "(pyspark 4 and a Java 17 runtime: apt-get install openjdk-17-jre-headless)."
        ) from None
    _quiet_query_context_loggers()
    settings = dict(SESSION_CONF)
    if remote:
        _check_reachable(remote)
        builder = SparkSession.builder.remote(remote)
    else:
        master = master or (conf or {}).get("spark.master") or DEFAULT_MASTER
        if master.startswith("local"):
            settings |= LOCAL_CONF
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.master(master).appName("revlens")
    settings |= {k: v for k, v in (conf or {}).items() if k != "spark.master"}
    for key, value in settings.items():
        builder = builder.config(key, value)
    with spark_errors("to start a session" if not remote else f"to connect to {remote}"):
        try:
            return builder.getOrCreate()
        except (FileNotFoundError, RuntimeError) as exc:  # no java, or the JVM did not start
            raise SparkError(
                f"Spark could not start ({exc}); install a Java 17 runtime "
                "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
            ) from None


def _quiet_query_context_loggers() -> None:
    """pyspark logs every failed query's JVM stack trace to stderr (as JSON, through its query-context
    loggers) before it raises; the error RevLens shows is the message alone (:func:`spark_errors`)."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


# --------------------------------------------------------------------------- the runner


def _value(value: Any) -> Any:
    """A bound value as Spark takes it: a list as an array literal, the rest as it is."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime | date | str | int | float | bool | list) or value is None:
        return value
    return str(value)


class SparkRunner:
    """Runs RevLens's queries on a Spark session over a lake source (see the module docstring)."""

    engine = "spark"

    def __init__(self, spark, source: LakeSource):
        self.spark = spark
        self.source = source
        self.manifest = read_manifest(source)
        self.views: set[str] = set()  # source tables registered as views
        self.missing: dict[str, str] = {}  # source tables that are not there, with the reason
        self.temporary: dict[str, Any] = {}  # temp tables this runner made: name -> persisted frame
        self.collected: list[tuple[str, int]] = []  # (statement, rows brought to the driver)

    # ------------------------------------------------------------------ source tables

    def _register(self, table: str) -> bool:
        """Make ``table`` readable as a view from the source; False when the source lacks it."""
        if table in self.views or table in self.temporary:
            return True
        if table in self.missing:
            return False
        location = self.source.table(table)
        try:
            if self.source.kind == "dir":
                frame = self.spark.read.parquet(location)
            else:
                frame = self.spark.table(location)
            columns = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
        except _spark_errors() as exc:
            self.missing[table] = spark_message(exc)
            return False
        expected = expected_columns(table, self.manifest)
        problem = schema_problem(table, columns, expected) if expected else None
        if problem:
            raise RevLensError(
                f"The source's schema differs from RevLens's: {problem} ({location}); "
                "re-export the warehouse with `python -m analytics export --format parquet --out DIR`, "
                "or cast the column in the lake."
            )
        frame.createOrReplaceTempView(table)
        self.views.add(table)
        return True

    def has_tables(self, tables) -> bool:
        """Whether the source has every one of ``tables`` (registering them)."""
        return all(self._register(table) for table in tables)

    def has_column(self, table: str, column: str) -> bool:
        """Whether the source's ``table`` has ``column`` (registering the table)."""
        return self._register(table) and column in self.spark.table(table).columns

    def _require(self, tree, name: str) -> None:
        for table in sorted(referenced_tables(tree) - set(self.temporary)):
            if not self._register(table):
                raise RevLensError(
                    f"The source ({self.source.describe()}) has no table {table}, which {name} reads "
                    f"(looked for {self.source.table(table)}); export the warehouse with "
                    "`python -m analytics export --format parquet --out DIR` and pass --source DIR, "
                    "or give the prefix its tables have."
                )

    # ------------------------------------------------------------------ statements

    def translate(self, query: Query | str) -> str:
        """The Spark SQL of ``query``."""
        return rewrite(parse(sql_of(query))).sql(dialect="spark")

    def _frame(self, query: Query | str, params: Params):
        sql = sql_of(query)
        return self._frame_of_tree(parse(sql), sql, params, name_of(query))

    def run(self, query: Query | str, params: Params = None) -> pl.DataFrame:
        import polars as pl

        frame = self._frame(query, params)
        with spark_errors(f"running {name_of(query)}"):
            table = frame.toArrow()
        self.collected.append((name_of(query), table.num_rows))
        return pl.from_arrow(table)

    def rows(self, query: Query | str, params: Params = None) -> list[tuple]:
        frame = self._frame(query, params)
        with spark_errors(f"running {name_of(query)}"):
            result = [tuple(row) for row in frame.collect()]
        self.collected.append((name_of(query), len(result)))
        return result

    def execute(self, statement: Query | str, params: Params = None) -> None:
        """A temporary table (computed once, kept), or dropping one; Spark writes nothing else."""
        from sqlglot import exp

        sql = sql_of(statement)
        tree = parse(sql)
        if isinstance(tree, exp.Create) and tree.args.get("kind", "").upper() == "TABLE":
            temporary = any(isinstance(p, exp.TemporaryProperty) for p in tree.find_all(exp.TemporaryProperty))
            name = tree.this.name
            if not temporary:
                raise RevLensError(
                    f"The Spark engine only reads the lake; {name_of(statement)} would write the table {name}. "
                    "Build derived tables on the DuckDB warehouse (python -m analytics refresh) and export it again."
                )
            self._drop(name)
            select = tree.expression
            frame = self._frame_of_tree(select, sql, params, name_of(statement))
            with spark_errors(f"running {name_of(statement)}"):
                frame = frame.persist()
                frame.count()
            frame.createOrReplaceTempView(name)
            self.temporary[name] = frame
            return
        if isinstance(tree, exp.Drop):
            for table in tree.args.get("tables") or [tree.this]:
                self._drop(table.name)
            return
        raise RevLensError(
            f"The Spark engine runs queries and temporary tables only; {name_of(statement)} is a "
            f"{type(tree).__name__.lower()} statement. Run it on the DuckDB warehouse."
        )

    def _frame_of_tree(self, tree, sql: str, params: Params, name: str):
        """A Spark frame of the parsed statement ``tree`` (of ``sql``, whose ``$names`` pick the values)."""
        self._require(tree, name)
        values = bound(sql, params)
        args = {k: _value(v) for k, v in values.items()} if isinstance(values, dict) else values
        with spark_errors(f"to plan {name}"):
            return self.spark.sql(rewrite(tree).sql(dialect="spark"), args=args or None)

    def _drop(self, name: str) -> None:
        frame = self.temporary.pop(name, None)
        if frame is not None:
            with spark_errors(f"dropping {name}"):
                frame.unpersist()
                self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        """Drop every temporary table and source view this runner made (the session stays)."""
        for name in list(self.temporary):
            self._drop(name)
        for name in list(self.views):
            with contextlib.suppress(Exception):
                self.spark.catalog.dropTempView(name)
        self.views.clear()

    def largest_result(self) -> tuple[str, int]:
        """The statement that brought the most rows to the driver, and how many."""
        return max(self.collected, key=lambda item: item[1], default=("(none)", 0))


@contextlib.contextmanager
def spark_runner(
    source: str, master: str | None = None, remote: str | None = None, conf: dict[str, str] | None = None
) -> Iterator[SparkRunner]:
    """A :class:`SparkRunner` over ``source`` (a folder or URI, or a table prefix) on a new session,
    stopped at the end (a session this process already had, e.g. in a notebook, stays open)."""
    from analytics.warehouse.lake import parse_source

    lake = parse_source(source)
    existing = _active_session() if not remote else None
    spark = open_spark(master, remote, conf)
    runner = SparkRunner(spark, lake)
    try:
        yield runner
    finally:
        with contextlib.suppress(Exception):
            runner.close()
        if existing is None:
            with contextlib.suppress(Exception):
                spark.stop()


def _active_session():
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()
