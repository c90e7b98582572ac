"""Campaign ROI math: small pure functions, each with its formula (the spec's ``calculateCampaignROI``).

Every function takes plain numbers and returns a number, ``None`` when the quantity is
undefined (a zero denominator: ROI of a campaign that cost nothing is shown as "—",
never infinity), or for :func:`payback_period` the string ``"not reached"``.
:func:`roi_record` puts them together into one row of the ROI report, so campaigns,
channels and totals are computed by the same code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NOT_REACHED = "not reached"

# Confidence thresholds: (good, weak) boundaries per signal; beyond "weak" is "poor".
MIN_CONVERSIONS = (30.0, 10.0)  # attributed conversions: >= 30 good, >= 10 weak
MAX_MODEL_SPREAD = (0.25, 0.50)  # (max - min) / mean attributed revenue across models
MAX_INTERVAL_WIDTH = (0.30, 0.60)  # (high - low) / estimate of the bootstrap revenue interval


def total_investment(campaign_costs: float, operational_costs: float, opportunity_costs: float) -> float:
    """``total_investment = campaign_costs + operational_costs + opportunity_costs`` (the spec's totalCosts)."""
    return campaign_costs + operational_costs + opportunity_costs


def net_revenue(attributed_revenue: float, investment: float) -> float:
    """``net_revenue = attributed_revenue - total_investment``."""
    return attributed_revenue - investment


def js_round_2(value: float) -> float:
    """Round to 2 places as the spec's ``Math.round(value * 100) / 100``: halves go up.

    ``Math.round(x) = floor(x + 0.5)``, so 2.345 → 2.35 and -2.345 → -2.34 (not Python's
    banker's rounding).
    """
    return math.floor(value * 100 + 0.5) / 100


def roi_percentage(net: float, investment: float) -> float | None:
    """``roi_percentage = round2(net_revenue / total_investment × 100)``; ``None`` when the investment is 0.

    ``round2`` is :func:`js_round_2`. A negative net gives a negative ROI (-100 % when nothing
    was returned).
    """
    if investment == 0:
        return None
    return js_round_2(net / investment * 100)


def roas(attributed_revenue: float, media_spend: float) -> float | None:
    """Return on ad spend: ``attributed_revenue / media_spend``; ``None`` when there was no media spend."""
    if media_spend == 0:
        return None
    return attributed_revenue / media_spend


def cac(investment: float, conversions: float) -> float | None:
    """Customer acquisition cost: ``total_investment / attributed_conversions``; ``None`` without conversions."""
    if conversions == 0:
        return None
    return investment / conversions


def gross_profit(revenue: float, gross_margin: float) -> float:
    """``gross_profit = attributed_revenue × gross_margin`` (the margin is an assumption, e.g. 0.80 for SaaS)."""
    return revenue * gross_margin


def payback_period(investment: float, monthly_gross_profit: Sequence[float]) -> float | str | None:
    """Months until cumulative attributed gross profit covers the investment.

    With :math:`G_k = \\sum_{i \\le k} g_i` the cumulative gross profit after month *k*
    (month 1 is the first month of the series), the payback is reached in the first month
    *k* with :math:`G_k \\ge I`, interpolated linearly within it:

    .. math:: payback = (k - 1) + \\frac{I - G_{k-1}}{g_k}

    rounded to one decimal. Returns ``"not reached"`` when :math:`G_n < I` at the end of
    the series, and ``None`` when there is nothing to pay back (:math:`I \\le 0`).

    Example: I = 300, g = (100, 100, 200): G = (100, 200, 400); month 3 covers it,
    payback = 2 + (300 - 200) / 200 = 2.5 months.
    """
    if investment <= 0:
        return None
    cumulative = 0.0
    for month, profit in enumerate(monthly_gross_profit, start=1):
        if profit > 0 and cumulative + profit >= investment:
            return round(month - 1 + (investment - cumulative) / profit, 1)
        cumulative += profit
    return NOT_REACHED


def model_spread(revenues: Sequence[float]) -> float | None:
    """Disagreement across attribution models: ``(max - min) / mean`` of the attributed revenue.

    ``None`` with fewer than two models or a zero mean.
    """
    if len(revenues) < 2:
        return None
    mean = sum(revenues) / len(revenues)
    if mean <= 0:
        return None
    return (max(revenues) - min(revenues)) / mean


def interval_width(low: float, high: float, estimate: float) -> float | None:
    """Relative width of a bootstrap interval: ``(high - low) / estimate``; ``None`` when the estimate is 0."""
    if estimate <= 0:
        return None
    return (high - low) / estimate


def _grade(value: float, bounds: tuple[float, float], higher_is_better: bool) -> int:
    """0 = good, 1 = weak, 2 = poor."""
    good, weak = bounds
    if higher_is_better:
        return 0 if value >= good else 1 if value >= weak else 2
    return 0 if value <= good else 1 if value <= weak else 2


def confidence_level(conversions: float, spread: float | None, width: float | None) -> tuple[str, str]:
    """``high`` / ``medium`` / ``low`` confidence in an ROI figure, with the reason.

    Three signals are graded good / weak / poor:

    - attributed conversions: ≥ 30 good, ≥ 10 weak, fewer poor;
    - model spread (:func:`model_spread`): ≤ 0.25 good, ≤ 0.50 weak, more poor;
    - bootstrap interval width (:func:`interval_width`): ≤ 0.30 good, ≤ 0.60 weak, more poor.

    The level is ``low`` if any signal is poor, ``high`` if every available signal is good,
    else ``medium``. A signal that is ``None`` (not computed, or no revenue) is left out and
    named in the reason. Zero conversions is always ``low``.
    """
    signals = [
        ("conversions", _grade(conversions, MIN_CONVERSIONS, True), f"{conversions:,.1f} attributed conversions")
    ]
    missing = []
    if spread is None:
        missing.append("model agreement")
    else:
        signals.append(("spread", _grade(spread, MAX_MODEL_SPREAD, False), f"models differ by {spread:.0%}"))
    if width is None:
        missing.append("bootstrap interval")
    else:
        signals.append(("width", _grade(width, MAX_INTERVAL_WIDTH, False), f"bootstrap interval ±{width / 2:.0%}"))
    worst = max(grade for _, grade, _ in signals)
    level = ("high", "medium", "low")[worst]
    # Name the signals that set the level (all of them when it is high).
    shown = [text for _, grade, text in signals if grade == worst or worst == 0]
    reason = "; ".join(shown)
    if missing:
        reason += f"; {' and '.join(missing)} not available"
    return level, reason


def roi_record(
    *,
    media_spend: float,
    campaign_costs: float,
    operational_costs: float,
    opportunity_costs: float,
    attributed_revenue: float,
    attributed_conversions: float,
    monthly_gross_profit: Sequence[float],
    spread: float | None,
    width: float | None,
) -> dict:
    """One ROI row: ``total_investment``, ``attributed_revenue``, ``net_revenue``, ``roi_percentage``,
    ``roas``, ``cac``, ``payback_months`` (number or ``None``), ``payback_period`` (months as text,
    ``"not reached"`` or ``None``), ``confidence_level`` and ``confidence_reason``.
    """
    investment = total_investment(campaign_costs, operational_costs, opportunity_costs)
    net = net_revenue(attributed_revenue, investment)
    payback = payback_period(investment, monthly_gross_profit)
    level, reason = confidence_level(attributed_conversions, spread, width)
    return {
        "total_investment": investment,
        "attributed_revenue": attributed_revenue,
        "attributed_conversions": attributed_conversions,
        "net_revenue": net,
        "roi_percentage": roi_percentage(net, investment),
        "roas": roas(attributed_revenue, media_spend),
        "cac": cac(investment, attributed_conversions),
        "payback_months": payback if isinstance(payback, float) else None,
        "payback_period": None if payback is None else (payback if isinstance(payback, str) else f"{payback:.1f}"),
        "confidence_level": level,
        "confidence_reason": reason,
    }
