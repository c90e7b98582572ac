"""The ROI page's campaign drill-down: the won deals a campaign touched, and its credit on each.

For a report period ``[start, end]``, a lookback and an attribution model, a deal is listed
when it is a won deal closing in the period with an eligible touch on the campaign (the
journeys of :mod:`analytics.attribution.journeys`, contact level, as the report's). For each:
``campaign_touches`` and ``all_touches`` (its eligible touches on the campaign, and all of
them), ``touch_share = campaign_touches / all_touches``, and ``credit``: the campaign's share
of the deal's amount under the model, from the attribution engine
(:func:`analytics.attribution.engine.deal_credits`), so the deals' credits add up to the
campaign's attributed revenue in the report (linear: ``amount × touch_share``).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from analytics.attribution.engine import deal_credits, deals_touched
from analytics.attribution.window import JourneyWindow


def campaign_deals(
    con, campaign_id: str, start: date, end: date, lookback_days: int = 90, model: str = "linear"
) -> pl.DataFrame:
    """Won deals closing in ``[start, end]`` that the campaign touched, with its credit on each.

    Returns ``opportunity_id, deal, account, amount, close_date, campaign_touches, all_touches,
    touch_share, credit`` (``credit``: the campaign's attributed revenue from the deal under
    ``model``), oldest close first.
    """
    window = JourneyWindow(by="campaign", lookback_days=lookback_days, close_from=start, close_to=end)
    deals = deals_touched(con, campaign_id, window)
    credits = deal_credits(con, model, campaign_id, window)
    return deals.join(credits, on="journey_id", how="left").select(
        "opportunity_id",
        "deal",
        "account",
        "amount",
        "close_date",
        pl.col("key_touches").alias("campaign_touches"),
        "all_touches",
        "touch_share",
        pl.col("credited_revenue").fill_null(0.0).alias("credit"),
    )
