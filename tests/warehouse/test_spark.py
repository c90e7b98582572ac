"""Engine parity: every statement the attribution, ROI and health commands run gives the same result on
DuckDB and on Spark ``local[2]``, on a tiny demo warehouse exported as a Parquet lake.

Each command's analytics run once on each engine through a runner that keeps every result; the two
lists of statements must match name for name (a query with a Spark form runs that form on Spark, so
its parity is checked here too), and every result must agree: exactly for integers, decimals, strings,
dates and booleans; within 1e-12 relative for DOUBLE columns (the fixed-point sums come out
bit-identical; see ``test_fixed_point_sums_are_bit_identical``). One Spark session serves the module.

Skipped, with the reason, only where Java is missing (pyspark itself is in requirements-dev.txt).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from analytics.attribution.engine import attribute_rows
from analytics.attribution.models import MODELS
from analytics.attribution.window import JourneyWindow
from analytics.core.errors import RevLensError
from analytics.customers.health import health_scores
from analytics.demo.builder import build_demo
from analytics.finance.report import financial_report
from analytics.warehouse.connection import connect
from analytics.warehouse.lake import export_parquet, parse_source
from analytics.warehouse.runner import DuckDBRunner, Query, name_of

TOUCHPOINTS = 3_000
REL = 1e-12
JAVA = shutil.which("java") or (
    os.environ.get("JAVA_HOME") and shutil.which("java", path=f"{os.environ['JAVA_HOME']}/bin")
)
pytestmark = pytest.mark.skipif(
    not JAVA,
    reason="Java is missing: the Spark parity tests need a Java 17 runtime "
    "(apt-get install -y openjdk-17-jre-headless; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("parity") / "demo.duckdb"
    build_demo(path, seed=7, touchpoints=TOUCHPOINTS)
    return str(path)


@pytest.fixture(scope="module")
def lake(fixture_db, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("lake") / "revlens"
    con = connect(fixture_db, read_only=True)
    try:
        export_parquet(con, out)
    finally:
        con.close()
    return str(out)


# Settings for a tiny warehouse: planning and JIT compilation dominate, not the data (about a
# fifth faster than the defaults here)
TINY_DATA_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
}


@pytest.fixture(scope="module")
def spark():
    from analytics.warehouse.spark import LOG_CONFIG, open_spark

    java_options = f"-Dlog4j2.configurationFile=file:{LOG_CONFIG} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    session = open_spark(conf={**TINY_DATA_CONF, "spark.driver.extraJavaOptions": java_options})
    yield session
    if os.environ.get("REVLENS_PARITY_CPU"):  # what the module costs: the JVM's CPU seconds
        pid = session._jvm.java.lang.ProcessHandle.current().pid()
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        print(f"\nSpark JVM CPU: {seconds:.1f} s", file=sys.stderr)
    session.stop()


@pytest.fixture()
def spark_runner(spark, lake):
    from analytics.warehouse.spark import SparkRunner

    runner = SparkRunner(spark, parse_source(lake))
    yield runner
    runner.close()


@pytest.fixture()
def duck(fixture_db):
    con = connect(fixture_db, read_only=True)
    yield con
    con.close()


class Keeping:
    """A runner that keeps ``(kind, name, result)`` of every statement its inner runner runs."""

    def __init__(self, inner):
        self.inner = inner
        self.engine = inner.engine
        self.kept: list[tuple[str, str, object]] = []

    def has_tables(self, tables) -> bool:
        return self.inner.has_tables(tables)

    def has_column(self, table, column) -> bool:
        return self.inner.has_column(table, column)

    def run(self, query, params=None):
        result = self.inner.run(query, params)
        self.kept.append(("run", name_of(query), result))
        return result

    def rows(self, query, params=None):
        result = self.inner.rows(query, params)
        self.kept.append(("rows", name_of(query), result))
        return result

    def execute(self, statement, params=None):
        self.inner.execute(statement, params)
        self.kept.append(("execute", name_of(statement), None))


# --------------------------------------------------------------------------- comparing results


def _plain(value):
    """A result cell as a comparable Python value: integers and decimals as exact numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _table(result) -> tuple[list[str], list[list]]:
    if isinstance(result, pl.DataFrame):
        return result.columns, [[_plain(v) for v in row] for row in result.rows()]
    return [], [[_plain(v) for v in row] for row in result]


def _sort_key(row: list):
    # floats last and rounded, so a 1-ulp difference does not reorder rows
    return [
        (1, round(v, 6)) if isinstance(v, float) and math.isfinite(v) else (0, "" if v is None else repr(v))
        for v in row
    ]


def _agree(a, b, scale: float) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= REL * max(abs(a), abs(b), scale)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_agree(x, y, scale) for x, y in zip(a, b))
    return a == b


def compare(name: str, duckdb_result, spark_result) -> tuple[int, int]:
    """Assert the two results agree (see the module docstring); returns (float cells, bit-identical ones)."""
    columns_d, rows_d = _table(duckdb_result)
    columns_s, rows_s = _table(spark_result)
    assert [c.lower() for c in columns_d] == [c.lower() for c in columns_s], f"{name}: columns differ"
    assert len(rows_d) == len(rows_s), f"{name}: {len(rows_d)} rows on DuckDB, {len(rows_s)} on Spark"
    rows_d, rows_s = sorted(rows_d, key=_sort_key), sorted(rows_s, key=_sort_key)
    width = len(rows_d[0]) if rows_d else 0
    scales = [
        max((abs(r[i]) for r in rows_d if isinstance(r[i], float) and math.isfinite(r[i])), default=0.0) * 1e-3
        for i in range(width)
    ]
    floats = identical = 0
    for row_d, row_s in zip(rows_d, rows_s):
        for i, (a, b) in enumerate(zip(row_d, row_s)):
            assert _agree(a, b, scales[i]), f"{name}: column {i} {a!r} (DuckDB) != {b!r} (Spark) in {row_d}"
            if isinstance(a, float):
                floats += 1
                identical += a == b or (math.isnan(a) and math.isnan(b))
    return floats, identical


def both(duck, spark_runner, work):
    """Run ``work(con)`` on each engine; assert every statement's result agrees; the two outputs."""
    on_duckdb, on_spark = Keeping(DuckDBRunner(duck)), Keeping(spark_runner)
    out_d, out_s = work(on_duckdb), work(on_spark)
    names_d = [(kind, name) for kind, name, _ in on_duckdb.kept]
    names_s = [(kind, name) for kind, name, _ in on_spark.kept]
    assert names_d == names_s, "the engines ran different statements"
    assert any(kind != "execute" for kind, _ in names_d)
    floats = identical = 0
    for (kind, name, result_d), (_, _, result_s) in zip(on_duckdb.kept, on_spark.kept):
        if kind != "execute":
            f, i = compare(name, result_d, result_s)
            floats, identical = floats + f, identical + i
    return out_d, out_s, (len(names_d), floats, identical)


# --------------------------------------------------------------------------- parity


def test_every_attribution_statement_agrees(duck, spark_runner):
    rows_d, rows_s, (statements, floats, identical) = both(duck, spark_runner, lambda con: attribute_rows(con, MODELS))
    assert statements >= 10 and floats > 0
    compare("attribute_rows", rows_d, rows_s)
    # the rule-based models' credit is exact (fixed-point sums); the chain models' is solved in numpy
    # from identical counts
    rule = [r for r in rows_d if r[1] in ("first_touch", "last_touch", "linear")]
    assert rule and rule == [r for r in rows_s if r[1] in ("first_touch", "last_touch", "linear")]


def test_every_account_level_attribution_statement_agrees(duck, spark_runner):
    """Account-level journeys are made from the raw tables on each run (Spark's form of the raw touches)."""
    window = JourneyWindow(account_level=True)
    rows_d, rows_s, (statements, _, _) = both(
        duck, spark_runner, lambda con: attribute_rows(con, ["first_touch", "markov"], window)
    )
    assert statements >= 5
    compare("attribute_rows (account level)", rows_d, rows_s)


def test_every_campaign_level_statement_agrees(duck, spark_runner):
    """By campaign: more than 31 keys, so the Shapley bit masks need 64-bit shifts (bigint_shifts)."""
    window = JourneyWindow(by="campaign")
    rows_d, rows_s, (statements, _, _) = both(
        duck, spark_runner, lambda con: attribute_rows(con, ["last_touch", "shapley"], window)
    )
    assert statements >= 5 and len({row[0] for row in rows_d}) > 32
    compare("attribute_rows (by campaign)", rows_d, rows_s)


def test_every_roi_statement_agrees(duck, spark_runner):
    def report(con):
        # compare=False: the previous period runs the same statements with other dates
        result = financial_report(
            con, date(2026, 7, 1), date(2026, 9, 30), "quarter", model="linear", n_boot=5, compare=False
        )
        return result.by_campaign

    campaigns_d, campaigns_s, (statements, _, _) = both(duck, spark_runner, report)
    assert statements >= 10
    compare("financial_report.by_campaign", campaigns_d, campaigns_s)


def test_every_health_statement_agrees(duck, spark_runner):
    scores_d, scores_s, (statements, floats, _) = both(duck, spark_runner, lambda con: health_scores(con))
    assert scores_d.height > 0 and floats > 0
    compare("health_scores", scores_d, scores_s)


def test_fixed_point_sums_are_bit_identical(duck, spark_runner):
    from analytics.attribution.dialect import exact_sum

    sql = f"select {exact_sum('revenue * 0.1')} as s, {exact_sum('revenue / 3.0')} as t from won_deals"
    query = "with won_deals as (select amount as revenue from opportunities where is_closed_won) " + sql
    assert DuckDBRunner(duck).rows(query) == spark_runner.rows(query)


# --------------------------------------------------------------------------- the rewrite rules on Spark

RULE_CASES = {
    "decimal_literals_as_double": "select 1.0 / 3 as third, 2.5e-1 * 3 as quarters",
    "hugeint_as_decimal": "select cast(sum(cast(x as hugeint)) as bigint) as total from (values (1), (2)) as v(x)",
    "list_length": "select len(list(x)) as n from (values (1), (2), (3)) as v(x)",
    "one_based_index": "select (list(x order by x))[1] as first, (list(x order by x))[3] as third, "
    "(list(x order by x))[9] as missing from (values (5), (4), (6)) as v(x)",
    "ordered_list_aggregate": "select g, list(x order by y, x) as xs from (values (1, 'c', 1), (1, 'a', 3), "
    "(1, 'b', 2), (2, 'z', 0)) as v(g, x, y) group by g order by g",
    "bigint_shifts": "select cast(1 as bigint) << 40 as high, (cast(1 as hugeint) << 45) >> 44 as back, "
    "cast(1 as integer) << 3 as low",
    "duckdb_unpivot": "select * from (unpivot (select 1 as id, 10 as a, 20 as b) on a, b "
    "into name kind value amount) as u order by kind",
    "epoch_microseconds": "select epoch_us(timestamp '2026-01-02 03:04:05.000006') as us",
    # DuckDB's date - interval is a timestamp, Spark's date_sub a date: the same day, compared as such
    "minus_days": "select cast(date '2026-03-01' - to_days(3) as date) as day, "
    "date '2026-03-01' - to_days(3) < timestamp '2026-02-26 00:00:01' as before",
    "in_list_parameter": "select count(*) as n from (values ('a'), ('b'), ('c')) as v(x) where x in $names",
    "cast_of_unnest": "select cast(unnest($days) as date) as day order by day",
    "cte_materialization": "with t as materialized (select 1 as x) select x from t",
    "round_half_away_from_zero": "select round(2.675, 2) as r, round(cast(0.125 as double), 2) as s",
}
RULE_PARAMS = {"names": ["a", "c"], "days": ["2026-01-02", "2026-01-01"]}


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_each_rewrite_rule_gives_duckdbs_answer_on_spark(duck, spark_runner, rule):
    from analytics.warehouse.dialects import RULES

    assert rule in {r.__name__ for r in RULES}
    sql = RULE_CASES[rule]
    expected = DuckDBRunner(duck).run(sql, RULE_PARAMS)
    compare(rule, expected, spark_runner.run(sql, RULE_PARAMS))


# --------------------------------------------------------------------------- the CLI and bad input


def _cli(capsys, *args) -> tuple[int, str, str]:
    from analytics.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_the_cli_gives_the_same_json_on_both_engines(fixture_db, lake, spark, capsys):
    args = ("attribution", "--model", "linear", "--format", "json")
    code_d, out_d, _ = _cli(capsys, *args, "--db", fixture_db)
    code_s, out_s, err_s = _cli(capsys, *args, "--engine", "spark", "--source", lake)
    assert code_d == code_s == 0, err_s
    rows_d, rows_s = json.loads(out_d), json.loads(out_s)
    compare("cli attribution", [list(r.values()) for r in rows_d], [list(r.values()) for r in rows_s])
    assert spark.sparkContext._jsc is not None, "the CLI left the test's session running"


def test_a_missing_table_names_the_table_and_the_export(spark, lake, tmp_path):
    from analytics.warehouse.spark import SparkRunner

    partial = tmp_path / "partial"
    shutil.copytree(lake, partial, ignore=shutil.ignore_patterns("opportunities"))
    runner = SparkRunner(spark, parse_source(str(partial)))
    with pytest.raises(
        RevLensError, match=r"has no table opportunities, which finance.won.*python -m analytics export"
    ):
        runner.rows(Query("finance.won", "select count(*) from opportunities where is_closed_won"))
    runner.close()


def test_a_schema_that_differs_names_the_column(spark, lake, tmp_path):
    from analytics.warehouse.spark import SparkRunner

    changed = tmp_path / "changed"
    shutil.copytree(lake, changed)
    shutil.rmtree(changed / "opportunities")
    (changed / "opportunities").mkdir()
    duckdb.sql(
        f"copy (select * replace (cast(amount as varchar) as amount) from '{lake}/opportunities/*.parquet') "
        f"to '{changed}/opportunities/data_0.parquet' (format parquet)"
    )
    runner = SparkRunner(spark, parse_source(str(changed)))
    with pytest.raises(
        RevLensError, match=r"schema differs.*opportunities\.amount is string where RevLens needs double"
    ):
        runner.rows("select sum(amount) from opportunities")
    runner.close()


def test_a_spark_job_failure_shows_sparks_message_without_the_jvm_stack(spark_runner, capfd):
    from analytics.warehouse.spark import SparkError

    capfd.readouterr()
    with pytest.raises(SparkError) as failure:
        spark_runner.rows("select cast('not a number' as int) as n")
    message = str(failure.value)
    assert message.startswith("Spark failed running") and "not a number" in message
    assert "\tat " not in message and "org.apache.spark.sql.execution" not in message and "\n" not in message
    printed = capfd.readouterr()
    assert "org.apache.spark" not in printed.err + printed.out, "pyspark printed the JVM stack trace"


def test_an_unreachable_spark_connect_url_says_how_to_fix_it(capsys):
    code, _, err = _cli(capsys, "health", "--engine", "spark", "--source", ".", "--spark-remote", "sc://127.0.0.1:9")
    assert code == 2
    assert "Cannot reach the Spark Connect server at 127.0.0.1:9" in err and "--spark-remote" in err
    assert "Traceback" not in err
