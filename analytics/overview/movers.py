"""What changed: the channels, campaigns and segments whose revenue moved most against the previous period.

For a window ``[start, end]`` and the previous window of the same length
(:meth:`~analytics.core.periods.ReportPeriod.previous`, as the Overview's KPIs), each key's
revenue in both, and its change ``delta = current − previous`` (and ``delta_pct``,
:func:`~analytics.core.change.percent_change`):

- a **channel** or a **campaign**: the revenue attribution credits it under ``model`` (linear by
  default; :func:`analytics.attribution.engine.attribute_rows`) for the won deals closing in the
  window, with the segment filter (deals of accounts in the segments); a channel filter keeps the
  chosen channels and the campaigns on them;
- a **segment**: the won revenue of its accounts' deals closing in the window
  (:func:`~analytics.attribution.definitions.won_in_window`); a channel filter keeps the deals
  whose contact touched one of the channels, as the KPIs do.

The movers of a dimension are its ``limit`` keys with the largest ``|delta|`` (ties: the
larger current revenue, then the key). ``(unattributed)`` is not a mover.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from analytics.attribution.definitions import won_in_window
from analytics.attribution.engine import attribute_rows
from analytics.attribution.models import UNATTRIBUTED
from analytics.core.change import percent_change
from analytics.core.periods import ReportPeriod
from analytics.warehouse.runner import Query, rows

if TYPE_CHECKING:
    import polars as pl

DIMENSIONS = ("channel", "campaign", "segment")

SEGMENT_REVENUE = Query(
    "overview.segment_revenue",
    f"""
with
    periods as (
        select 'current' as period, $start::date as period_start, $end::date as period_end
        union all
        select 'previous', $prev_start::date, $prev_end::date
    ),
    channel_contacts as (
        select distinct contact_id
        from touchpoints
        where list_contains($channels, channel)
    ),
    won as (
        select p.period, a.segment, o.amount
        from periods as p
        join opportunities as o on {won_in_window("o", "p.period_start", "p.period_end")}
        join accounts as a on a.account_id = o.account_id
        where a.segment is not null
          and (len($segments) = 0 or list_contains($segments, a.segment))
          and (len($channels) = 0 or o.contact_id in (select contact_id from channel_contacts))
    )
select segment, period, sum(amount) as revenue
from won
group by segment, period
""",
    "Won revenue per segment in the window and the previous one ($start, $end, $prev_start, $prev_end; "
    "$segments, $channels as the Overview's filters).",
)


def _credit(con, by: str, start: date, end: date, segments, model: str, lookback_days: int) -> dict[str, float]:
    credited = attribute_rows(
        con, [model], by=by, lookback_days=lookback_days, close_from=start, close_to=end, segments=tuple(segments)
    )
    return {key: revenue for key, _, _, revenue in credited if key != UNATTRIBUTED}


def movers(
    con,
    start: date,
    end: date,
    segments: tuple[str, ...] = (),
    channels: tuple[str, ...] = (),
    limit: int = 3,
    model: str = "linear",
    lookback_days: int = 90,
) -> pl.DataFrame:
    """The biggest movers per dimension (see the module docstring).

    Returns
    -------
    polars.DataFrame
        ``dimension, key, current, previous, delta, delta_pct``: at most ``limit`` rows per
        dimension (``channel``, ``campaign``, ``segment``), in that order, biggest ``|delta|`` first.
    """
    import polars as pl

    previous = ReportPeriod(start, end).previous()
    found: list[tuple] = []
    campaign_channel = dict(rows(con, "select campaign_id, channel from campaigns")) if channels else {}
    for by in ("channel", "campaign"):
        now = _credit(con, by, start, end, segments, model, lookback_days)
        before = _credit(con, by, previous.start, previous.end, segments, model, lookback_days)
        for key in now.keys() | before.keys():
            channel = key if by == "channel" else campaign_channel.get(key)
            if channels and channel not in channels:
                continue
            found.append((by, key, now.get(key, 0.0), before.get(key, 0.0)))
    params = {
        "start": start,
        "end": end,
        "prev_start": previous.start,
        "prev_end": previous.end,
        "segments": list(segments),
        "channels": list(channels),
    }
    by_segment: dict[str, dict[str, float]] = {}
    for segment, period, revenue in rows(con, SEGMENT_REVENUE, params):
        by_segment.setdefault(segment, {})[period] = float(revenue)
    found += [
        ("segment", segment, values.get("current", 0.0), values.get("previous", 0.0))
        for segment, values in by_segment.items()
    ]
    frame = pl.DataFrame(
        [(d, k, c, p, c - p, percent_change(c, p)) for d, k, c, p in found],
        schema={
            "dimension": pl.Utf8,
            "key": pl.Utf8,
            "current": pl.Float64,
            "previous": pl.Float64,
            "delta": pl.Float64,
            "delta_pct": pl.Float64,
        },
        orient="row",
    )
    order = {name: i for i, name in enumerate(DIMENSIONS)}
    return (
        frame.filter(pl.col("delta") != 0)
        .with_columns(pl.col("delta").abs().alias("_size"), pl.col("dimension").replace_strict(order).alias("_d"))
        .sort(["_d", "_size", "current", "key"], descending=[False, True, True, False])
        .group_by("dimension", maintain_order=True)
        .head(limit)
        .drop("_size", "_d")
    )
