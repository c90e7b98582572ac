"""RevLens SQL (DuckDB's dialect) as Spark SQL: sqlglot's transpiler plus the rewrites it misses.

Queries are written once, in the DuckDB dialect the default engine runs. For Spark,
:func:`to_spark` parses a statement with sqlglot (``read="duckdb"``), applies :data:`RULES`
to the tree and writes it back with ``write="spark"``. sqlglot translates most of it
(``$name`` parameters to ``:name``, ``date_diff``, ``string_agg ... order by`` to
``listagg ... within group``, ``xor``, ``generate_series``); each rule below fixes a construct
that it leaves wrong (found by running every statement of the attribution, ROI and health
commands on both engines; ``tests/warehouse/test_dialects.py`` has one test per rule):

- :func:`decimal_literals_as_double`: ``1.0`` is DECIMAL in Spark, and ``1.0 / 3`` a
  ``decimal(7,6)`` (0.333333) where DuckDB divides in DOUBLE.
- :func:`hugeint_as_decimal`: DuckDB's 128-bit integer (``hugeint``, the exact fixed-point sums)
  becomes ``decimal(38, 0)``; sqlglot writes ``INT128``, which Spark lacks.
- :func:`list_length`: DuckDB's ``len(list)`` becomes ``size(list)``, not the string ``LENGTH``
  (RevLens writes ``length()`` for strings, so ``len()`` always means a list).
- :func:`one_based_index`: ``list[i]`` counts from 1 in DuckDB and from 0 in Spark:
  ``try_element_at(list, i)`` (1-based, NULL out of range, as DuckDB).
- :func:`ordered_list_aggregate`: ``list(x order by y)`` becomes ``collect_list(x)``, which
  drops the order: the values are collected as ``struct(y, x)``, sorted, then unwrapped.
- :func:`bigint_shifts`: ``shiftleft``/``shiftright`` on a 32-bit (or DECIMAL) value wrap
  modulo 32 in Spark; the left operand is cast to BIGINT (64 bits, as the bit masks need).
- :func:`duckdb_unpivot`: ``UNPIVOT t ON a, b INTO NAME n VALUE v`` (DuckDB's form) becomes
  ``SELECT * FROM t UNPIVOT (v FOR n IN (a, b))``.
- :func:`epoch_microseconds`: ``epoch_us(ts)`` becomes ``unix_micros(ts)``.
- :func:`minus_days`: ``d - to_days(n)`` becomes ``date_sub(d, n)``.
- :func:`in_list_parameter`: ``x in $list`` (a bound list) becomes ``array_contains(:list, x)``.
- :func:`cast_of_unnest`: ``cast(unnest($list) as t)`` (a generator inside an expression, which
  Spark refuses) becomes ``explode(cast(:list as array<t>))``.
- :func:`cte_materialization`: DuckDB's ``as [not] materialized`` hints on a CTE are dropped.
- :func:`round_half_away_from_zero`: ``round(x, n)`` becomes ``round(x * 10^n) / 10^n``,
  DuckDB's own formula on a DOUBLE; Spark rounds the exact decimal expansion instead, which
  differs when ``x * 10^n`` rounds to a half (RevLens's measures are DOUBLE, not DECIMAL).

What a rule cannot fix is not rewritten: a window ordered over a whole relation with no
``partition by`` runs in one Spark task (the few heavy ones have a Spark form beside the
DuckDB one, see :func:`analytics.attribution.chains.lagged_by_window`); temporary tables are
materialized by the Spark runner (a temp view would be recomputed at every read); Spark skips
files whose names start with ``_``, so the lake layout never uses such names
(:func:`analytics.warehouse.lake.lake_name`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp

Rule = Callable[[exp.Expression], exp.Expression]

_LEN_CALL = re.compile(r"\blen\s*\(", re.I)


def _double(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("double"))


def decimal_literals_as_double(tree: exp.Expression) -> exp.Expression:
    """A numeric literal with a decimal point or an exponent is a DOUBLE, as in DuckDB's arithmetic."""

    def rewrite(node):
        if (
            isinstance(node, exp.Literal)
            and not node.is_string
            and re.search(r"[.eE]", node.this)
            and not isinstance(node.parent, exp.DataTypeParam)
            and not (isinstance(node.parent, exp.Cast) and node.parent.to.is_type("double"))
        ):
            return _double(node.copy())
        return node

    return tree.transform(rewrite)


def hugeint_as_decimal(tree: exp.Expression) -> exp.Expression:
    """``hugeint`` (INT128) becomes ``decimal(38, 0)``."""

    def rewrite(node):
        if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.INT128, exp.DataType.Type.UINT128):
            return exp.DataType.build("decimal(38, 0)")
        return node

    return tree.transform(rewrite)


def list_length(tree: exp.Expression) -> exp.Expression:
    """``len(list)`` (read as ``array_length`` by :func:`parse`) is ``size(list)``: nothing to do on
    the tree; the rule is in :func:`parse`, which reads ``len(`` as ``array_length(``."""
    return tree


def one_based_index(tree: exp.Expression) -> exp.Expression:
    """``list[i]`` (1-based) becomes ``try_element_at(list, i)`` (1-based, NULL out of range).

    sqlglot shifts an integer literal to 0-based when it parses DuckDB (``xs[1]`` is read as
    ``xs[0]``) but leaves any other index as written (``xs[i]`` stays ``xs[i]``, one off in Spark);
    the literal is shifted back, so every index is DuckDB's."""

    def rewrite(node):
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
            index = node.expressions[0].copy()
            if isinstance(index, exp.Literal) and not index.is_string and re.fullmatch(r"\d+", index.this):
                index = exp.Literal.number(int(index.this) + 1)
            return exp.Anonymous(this="try_element_at", expressions=[node.this.copy(), index])
        return node

    return tree.transform(rewrite)


def ordered_list_aggregate(tree: exp.Expression) -> exp.Expression:
    """``list(x order by y)`` becomes ``transform(array_sort(collect_list(named_struct('k0', y, 'value', x))),
    s -> s.value)``: the pairs sort by ``y`` first."""

    def rewrite(node):
        if not (isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)):
            return node
        order = node.this
        if any(o.args.get("desc") for o in order.expressions):
            raise ValueError("list(... order by ... desc) has no Spark rewrite here; order ascending")
        fields = []
        for i, o in enumerate(order.expressions):
            fields += [exp.Literal.string(f"k{i}"), o.this.copy()]
        fields += [exp.Literal.string("value"), order.this.copy()]
        pairs = exp.Anonymous(this="collect_list", expressions=[exp.Anonymous(this="named_struct", expressions=fields)])
        unwrap = exp.Lambda(this=exp.column("value", table="s"), expressions=[exp.to_identifier("s")])
        return exp.Anonymous(
            this="transform", expressions=[exp.Anonymous(this="array_sort", expressions=[pairs]), unwrap]
        )

    return tree.transform(rewrite)


def bigint_shifts(tree: exp.Expression) -> exp.Expression:
    """The left operand of a bit shift is a BIGINT."""

    def rewrite(node):
        if isinstance(node, (exp.BitwiseLeftShift, exp.BitwiseRightShift)):
            left = node.this
            if not (isinstance(left, exp.Cast) and left.to.is_type("bigint")):
                node.set("this", exp.Cast(this=left.copy(), to=exp.DataType.build("bigint")))
        return node

    return tree.transform(rewrite)


def duckdb_unpivot(tree: exp.Expression) -> exp.Expression:
    """DuckDB's ``UNPIVOT rel ON cols INTO NAME n VALUE v`` becomes Spark's ``UNPIVOT (v FOR n IN (cols))``."""

    def rewrite(node):
        if not (isinstance(node, exp.Pivot) and node.args.get("unpivot") and node.args.get("into")):
            return node
        into = node.args["into"]
        relation = node.this.copy()
        name = exp.to_identifier(into.this.name)
        values = [exp.to_identifier(v.name) for v in into.expressions]
        pivot = exp.Pivot(
            expressions=values,
            fields=[exp.In(this=name, expressions=[c.copy() for c in node.expressions])],
            unpivot=True,
        )
        if isinstance(relation, exp.Table):
            relation.append("pivots", pivot)
            return exp.select("*").from_(relation)
        subquery = relation if isinstance(relation, exp.Subquery) else exp.Subquery(this=relation)
        subquery.append("pivots", pivot)
        return exp.select("*").from_(subquery)

    return tree.transform(rewrite)


def epoch_microseconds(tree: exp.Expression) -> exp.Expression:
    """``epoch_us(ts)`` becomes ``unix_micros(ts)``."""

    def rewrite(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
            return exp.Anonymous(this="unix_micros", expressions=[e.copy() for e in node.expressions])
        return node

    return tree.transform(rewrite)


def minus_days(tree: exp.Expression) -> exp.Expression:
    """``d - to_days(n)`` becomes ``date_sub(d, n)``."""

    def rewrite(node):
        if isinstance(node, exp.Sub) and isinstance(node.expression, exp.ToDays):
            return exp.Anonymous(this="date_sub", expressions=[node.this.copy(), node.expression.this.copy()])
        return node

    return tree.transform(rewrite)


def in_list_parameter(tree: exp.Expression) -> exp.Expression:
    """``x in $list`` (one bound list, no parentheses) becomes ``array_contains(:list, x)``."""

    def rewrite(node):
        if isinstance(node, exp.In) and isinstance(node.args.get("field"), exp.Placeholder):
            return exp.Anonymous(this="array_contains", expressions=[node.args["field"].copy(), node.this.copy()])
        return node

    return tree.transform(rewrite)


def cast_of_unnest(tree: exp.Expression) -> exp.Expression:
    """``cast(unnest(x) as t)`` becomes ``explode(cast(x as array<t>))``."""

    def rewrite(node):
        if isinstance(node, exp.Cast) and isinstance(node.this, (exp.Explode, exp.Unnest)):
            inner = node.this
            values = inner.this if isinstance(inner, exp.Explode) else inner.expressions[0]
            array = exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[node.to.copy()], nested=True)
            return exp.Explode(this=exp.Cast(this=values.copy(), to=array))
        return node

    return tree.transform(rewrite)


def cte_materialization(tree: exp.Expression) -> exp.Expression:
    """``x as [not] materialized (...)`` loses the hint: Spark plans its CTEs on its own (and has no syntax for it)."""

    def rewrite(node):
        if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
            node.set("materialized", None)
        return node

    return tree.transform(rewrite)


def round_half_away_from_zero(tree: exp.Expression) -> exp.Expression:
    """``round(x, n)`` (n a literal > 0) becomes ``round(x * 10^n) / 10^n``, as DuckDB computes it."""

    def rewrite(node):
        if isinstance(node, exp.Round) and isinstance(node.args.get("decimals"), exp.Literal):
            digits = int(node.args["decimals"].this)
            if digits > 0:
                scale = _double(exp.Literal.number(f"1e{digits}"))
                scaled = exp.Round(this=exp.Mul(this=exp.Paren(this=node.this.copy()), expression=scale))
                return exp.Div(this=scaled, expression=scale.copy())
        return node

    return tree.transform(rewrite)


# In order: later rules see what earlier ones wrote (the double literals are made first, so the
# rounding scale written after them stays DOUBLE).
RULES: tuple[Rule, ...] = (
    decimal_literals_as_double,
    hugeint_as_decimal,
    list_length,
    one_based_index,
    ordered_list_aggregate,
    bigint_shifts,
    duckdb_unpivot,
    epoch_microseconds,
    minus_days,
    in_list_parameter,
    cast_of_unnest,
    cte_materialization,
    round_half_away_from_zero,
)


def parse(sql: str) -> exp.Expression:
    """One RevLens statement as a sqlglot tree (DuckDB's dialect; ``len(`` read as the list length)."""
    return sqlglot.parse_one(_LEN_CALL.sub("array_length(", sql), read="duckdb")


def rewrite(tree: exp.Expression, rules: tuple[Rule, ...] = RULES) -> exp.Expression:
    for rule in rules:
        tree = rule(tree)
    return tree


@functools.lru_cache(maxsize=512)
def to_spark(sql: str) -> str:
    """``sql`` (DuckDB's dialect, ``$name`` parameters) as Spark SQL (``:name`` parameters)."""
    return rewrite(parse(sql)).sql(dialect="spark")


def referenced_tables(tree: exp.Expression) -> set[str]:
    """The tables a statement reads (not its CTEs): what a Spark source must provide."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and not t.args.get("db") and t.name not in ctes}
