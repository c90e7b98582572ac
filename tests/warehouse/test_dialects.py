"""The rewrite layer (analytics/warehouse/dialects.py): one test per rule, on the translated text.

Each case gives a DuckDB statement, what sqlglot alone writes for Spark (the wrong form the rule
exists for) and what the rule writes. That the rule's form gives DuckDB's answer on Spark is
``tests/warehouse/test_spark.py::test_each_rewrite_rule_gives_duckdbs_answer_on_spark``.
"""

from __future__ import annotations

import pytest
import sqlglot

from analytics.warehouse.dialects import RULES, parse, referenced_tables, rewrite, to_spark

# rule -> (DuckDB SQL, a fragment of sqlglot's own Spark SQL, a fragment of the rule's Spark SQL)
CASES = {
    "decimal_literals_as_double": ("select 1.0 / 3 as x", "1.0 / 3", "CAST(1.0 AS DOUBLE) / 3"),
    "hugeint_as_decimal": ("select cast(x as hugeint) as y", "INT128", "CAST(x AS DECIMAL(38, 0))"),
    "list_length": ("select len(xs) as n", "LENGTH(xs)", "SIZE(xs)"),
    "one_based_index": (
        "select xs[1] as a, xs[i] as b",
        "xs[i]",  # a literal is shifted by sqlglot, an expression is not
        "TRY_ELEMENT_AT(xs, 1) AS a, TRY_ELEMENT_AT(xs, i) AS b",
    ),
    "ordered_list_aggregate": (
        "select list(x order by y, z) as xs from t",
        "COLLECT_LIST(x)",
        "TRANSFORM(ARRAY_SORT(COLLECT_LIST(NAMED_STRUCT('k0', y, 'k1', z, 'value', x))), s -> s.value)",
    ),
    "bigint_shifts": ("select k << 40 as bit", "SHIFTLEFT(k, 40)", "SHIFTLEFT(CAST(k AS BIGINT), 40)"),
    "duckdb_unpivot": (
        "select * from (unpivot t on a, b into name kind value amount)",
        "INTO NAME kind VALUE amount",
        "SELECT * FROM t UNPIVOT(amount FOR kind IN (a, b))",
    ),
    "epoch_microseconds": ("select epoch_us(ts) as us", "EPOCH_US(ts)", "UNIX_MICROS(ts)"),
    "minus_days": ("select d - to_days(3) as day", "d - TO_DAYS(3)", "DATE_SUB(d, 3)"),
    "in_list_parameter": ("select 1 as one where x in $names", "x IN :names", "ARRAY_CONTAINS(:names, x)"),
    "cast_of_unnest": (
        "select cast(unnest($days) as date) as day",
        "CAST(EXPLODE(:days) AS DATE)",
        "EXPLODE(CAST(:days AS ARRAY<DATE>))",
    ),
    "cte_materialization": (
        "with t as materialized (select 1 as x) select x from t",
        "AS MATERIALIZED",
        "WITH t AS (SELECT 1 AS x)",
    ),
    "round_half_away_from_zero": (
        "select round(x, 2) as r",
        "ROUND(x, 2)",
        "ROUND((x) * CAST(1e2 AS DOUBLE)) / CAST(1e2 AS DOUBLE)",
    ),
}


def test_every_rule_has_a_case():
    assert {rule.__name__ for rule in RULES} == set(CASES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_rule_fixes_what_sqlglot_writes(rule):
    sql, sqlglot_wrote, rule_writes = CASES[rule.__name__]
    plain = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    assert sqlglot_wrote in plain
    if rule.__name__ == "list_length":  # the rule is in parse(): len( is read as the list length
        ours = rewrite(parse(sql), ()).sql(dialect="spark")
    else:
        ours = rewrite(parse(sql), (rule,)).sql(dialect="spark")
    assert rule_writes in ours
    assert rule_writes in to_spark(sql)  # and all rules together keep it


def test_a_descending_ordered_list_is_refused_rather_than_mistranslated():
    with pytest.raises(ValueError, match="order ascending"):
        to_spark("select list(x order by y desc) from t")


def test_parameters_are_spark_named_parameters():
    assert to_spark("select * from t where d between $start and $end") == (
        "SELECT * FROM t WHERE d BETWEEN :start AND :end"
    )


def test_referenced_tables_are_the_tables_not_the_ctes():
    tree = parse("with a as (select * from touchpoints) select * from a join opportunities as o on true")
    assert referenced_tables(tree) == {"touchpoints", "opportunities"}
