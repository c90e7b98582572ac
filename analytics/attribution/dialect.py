"""The DuckDB-specific pieces of the attribution SQL, in one place (a Spark runner swaps these).

Everything else the attribution queries use is standard SQL (CTEs, window functions,
``exists``, ``case``, ``string_agg ... order by``) or a function every engine has under
another name. What is DuckDB's own:

- :func:`exact_sum`: a sum of doubles that does not depend on the order threads add them
  in, as fixed-point integers (2^-40 resolution) in a ``hugeint``; Spark would use
  ``decimal(38, 0)`` (measured 40% slower in DuckDB, so not used here).
- :func:`epoch_microseconds` (``epoch_us``; Spark ``unix_micros``),
  :func:`days_between` (``date_diff('day', a, b)``; Spark ``datediff(b, a)``) and
  :func:`minus_days` (``d - to_days(n)``; Spark ``date_sub(d, n)``).
- :data:`MATERIALIZED` / :data:`INLINED`: a CTE DuckDB should compute once, or inline into each
  reference (DuckDB 2.0 materializes a CTE referenced twice; the window's journeys are
  cheaper to filter again than to buffer: the linear credit on 10M touchpoints takes 55 ms
  instead of 75 ms). Spark plans CTEs on its own and drops these words.
- list functions for path input (``generate_subscripts``, ``path[i]``): only over path files,
  which are read into an in-process DuckDB whatever the warehouse's engine.
"""

from __future__ import annotations

# Sums of doubles depend on the order DuckDB's threads add them in; summing fixed-point integers
# (2^-40 resolution, exact for large values) makes every result bit-identical run to run.
SCALE = "1099511627776.0"
MATERIALIZED = "materialized"
INLINED = "not materialized"


def exact_sum(expr: str) -> str:
    """SQL for the sum of ``expr``, the same whatever order its terms are added in."""
    return f"(sum(round(({expr}) * {SCALE})::hugeint) / {SCALE})::double"


def epoch_microseconds(ts: str) -> str:
    """SQL for the microseconds from 1970-01-01 to the timestamp ``ts`` (a BIGINT)."""
    return f"epoch_us({ts})"


def days_between(earlier: str, later: str) -> str:
    """SQL for the whole days from the date ``earlier`` to the date ``later``."""
    return f"date_diff('day', {earlier}, {later})"


def minus_days(day: str, days: str) -> str:
    """SQL for the date ``days`` days before ``day``."""
    return f"({day} - to_days(cast({days} as integer)))"
