"""Frames as people read them: the app's tables and downloads (the CLI's CSV and JSON keep machine names).

:func:`readable` is what every download of the app offers by default: the values of
vocabulary columns (``channel``, ``model``, ``category``, ``status``...,
:data:`~analytics.core.labels.VALUE_KINDS`) as their labels, money rounded to cents
(:func:`is_money`; no ``44244.579999999994``), other decimals to 4 places, and the headers
as labels (:func:`~analytics.core.labels.relabel_columns`). ``raw=True`` returns the frame as
computed (machine names, full precision), for a spreadsheet that joins it back to the data.

polars is imported by the functions, so importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from analytics.core.labels import VALUE_KINDS, label, relabel_columns

if TYPE_CHECKING:
    import polars as pl

# A column is money when one of its words is a money word and none says it is a count, a share or a ratio.
MONEY_WORDS = frozenset(
    {
        "revenue",
        "amount",
        "investment",
        "spend",
        "spent",
        "cost",
        "costs",
        "budget",
        "arr",
        "pipeline",
        "cac",
        "overhead",
        "production",
        "fees",
        "credit",
        "burn",
    }
)
NOT_MONEY_WORDS = frozenset(
    {"conversions", "pct", "percentage", "share", "days", "months", "count", "score", "roi", "roas", "rank", "deals"}
)
DECIMALS = 4


def is_money(column: str) -> bool:
    """Whether a column holds dollars: ``attributed_revenue``, ``total_investment``, ``burn_rate_per_day``,
    ``credit``; not ``attributed_conversions``, ``revenue_share``, ``roi_percentage``, ``payback_months``."""
    words = set(column.lower().split("_"))
    return bool(words & MONEY_WORDS) and not words & NOT_MONEY_WORDS


def label_values(frame: pl.DataFrame, kinds: Mapping[str, str] | None = None) -> pl.DataFrame:
    """The frame with each vocabulary column's values replaced by their labels.

    ``kinds`` maps a column to its vocabulary (default: :data:`~analytics.core.labels.VALUE_KINDS`
    for the columns the frame has); a column that is not text is left alone.
    """
    import polars as pl

    kinds = {column: kind for column, kind in {**VALUE_KINDS, **(kinds or {})}.items() if column in frame.columns}
    replaced = []
    for column, kind in kinds.items():
        if frame.schema[column] != pl.String:
            continue
        names = [name for name in frame[column].unique().to_list() if name is not None]
        replaced.append(pl.col(column).replace_strict({name: label(kind, name) for name in names}, default=None))
    return frame.with_columns(replaced) if replaced else frame


def round_values(frame: pl.DataFrame, money_columns: set[str] | None = None) -> pl.DataFrame:
    """Money columns (:func:`is_money`, or ``money_columns``) rounded to cents, other decimals to 4 places."""
    import polars as pl

    floats = [c for c, dtype in frame.schema.items() if dtype in (pl.Float64, pl.Float32)]
    money = {c for c in floats if (c in money_columns if money_columns is not None else is_money(c))}
    return frame.with_columns(
        [pl.col(c).round(2) for c in floats if c in money]
        + [pl.col(c).round(DECIMALS) for c in floats if c not in money]
    )


def readable(
    frame: pl.DataFrame,
    *,
    raw: bool = False,
    headers: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    money_columns: set[str] | None = None,
) -> pl.DataFrame:
    """The frame as a download shows it: labels for values and headers, money in cents (see the module docstring).

    ``headers`` overrides the vocabulary's header of a column, ``kinds`` its vocabulary,
    ``money_columns`` the columns rounded to cents. ``raw=True`` returns ``frame`` unchanged.
    """
    if raw:
        return frame
    shown = round_values(label_values(frame, kinds), money_columns)
    return shown.rename(relabel_columns(shown.columns, headers))


def top_with_rest(
    frame: pl.DataFrame,
    key: str,
    value: str,
    n: int,
    rest_label: str,
    group_by: tuple[str, ...] = (),
    sums: tuple[str, ...] | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """The ``n`` keys with the largest total ``value`` (over all ``group_by`` rows), the others as one row.

    Returns ``(frame, top)``: the frame with every key outside ``top`` replaced by
    ``rest_label`` and its ``sums`` columns (default: ``value``) added up per ``group_by``
    (a chart's "Other campaigns" bar per model), and the top keys in order. With at most
    ``n + 1`` keys nothing is grouped (one key alone is better shown than "1 other").
    """
    import polars as pl

    sums = sums or (value,)
    totals = frame.group_by(key).agg(pl.col(value).sum()).sort([value, key], descending=[True, False])
    keys = totals[key].to_list()
    if len(keys) <= n + 1:
        return frame, keys
    top = keys[:n]
    kept = frame.filter(pl.col(key).is_in(top))
    rest = (
        (
            frame.filter(~pl.col(key).is_in(top))
            .group_by(*group_by, maintain_order=True)
            .agg([pl.col(c).sum() for c in sums])
            .with_columns(pl.lit(rest_label).alias(key))
        )
        if group_by
        else frame.filter(~pl.col(key).is_in(top))
        .select([pl.col(c).sum() for c in sums])
        .with_columns(pl.lit(rest_label).alias(key))
    )
    return pl.concat([kept.select(key, *group_by, *sums), rest.select(key, *group_by, *sums)]), top
