"""The backtest beside the advice.

**Hold-out backtest.** The curves are fitted again on the mature weeks but the last quarter's
(:data:`HOLDOUT_WEEKS` = 13), and predict each channel's revenue in that quarter from the spend
it actually had (with adstock, the spend before the quarter carried in). The error is

.. math:: \\mathrm{MAPE} = \\frac{1}{|C|} \\sum_{c \\in C} \\frac{|\\hat R_c - R_c|}{R_c}

over the channels *C* with a fit and attributed revenue in the quarter (:math:`R_c` their
quarter's attributed revenue), and the total's error :math:`|\\sum \\hat R_c - \\sum R_c| / \\sum R_c`.
It is a test of the curves on weeks they did not see, the same curves' kind as the advice's.

**Regret on the demo.** The demo warehouse plants each channel's response to spend
(:func:`analytics.demo.truth.planted_weekly_hill`: a Hill with :math:`\\alpha = 1` and a known
half-saturation). Its height in revenue is not one planted number (it follows from the lift,
the deal sizes and the channel's share of touches), so the planted curve's :math:`\\beta` is
the least-squares height of the planted shape :math:`h(x) = x / (x + \\kappa)` on the channel's
mature weeks, :math:`\\beta = \\sum h r / \\sum h^2` (for a channel the demo gives an unpaid
baseline, the least squares of :math:`b + \\beta h`, whose constant *b* does not move with spend).
Under those curves, with the advice's total
and bounds, the optimum :math:`s^*` is computed, and

.. math:: \\mathrm{regret} = V^*(s^*) - V^*(\\hat s), \\qquad
          \\text{captured} = \\frac{V^*(\\hat s) - V^*(s_0)}{V^*(s^*) - V^*(s_0)}

for the recommendation :math:`\\hat s` and the current allocation :math:`s_0`.
"""

from __future__ import annotations

import re

import numpy as np

from analytics.warehouse.runner import rows

HOLDOUT_WEEKS = 13
_DEMO_LOAD = re.compile(r"^demo seed=(\d+) touchpoints=(\d+)$")


def demo_touchpoints(con) -> int | None:
    """The touchpoints of the demo the warehouse was built as (``None`` once anything else was loaded)."""
    found = dict(rows(con, "select key, value from _meta where key = 'last_load'"))
    match = _DEMO_LOAD.match(found.get("last_load") or "")
    return int(match.group(2)) if match else None


def holdout(series: dict[str, tuple[np.ndarray, np.ndarray]], make_fit) -> dict:
    """Fit on all but the last :data:`HOLDOUT_WEEKS` weeks of each channel's mature ``(spend,
    revenue)`` series, predict those weeks; ``make_fit()`` returns an unfitted :class:`HillFit`."""
    channels, errors = {}, []
    predicted_total = actual_total = 0.0
    for channel, (spend, revenue) in series.items():
        if len(spend) < HOLDOUT_WEEKS + 8:
            channels[channel] = {"predicted": None, "actual": float(revenue[-HOLDOUT_WEEKS:].sum()), "error": None}
            continue
        train_s, test_s = spend[:-HOLDOUT_WEEKS], spend[-HOLDOUT_WEEKS:]
        train_r, test_r = revenue[:-HOLDOUT_WEEKS], revenue[-HOLDOUT_WEEKS:]
        try:
            fit = make_fit().fit(train_s, train_r)
        except Exception as exc:  # noqa: BLE001 - a failed fit is reported, never stops the others
            channels[channel] = {"predicted": None, "actual": float(test_r.sum()), "error": None, "note": str(exc)}
            continue
        predicted = float(fit.predict(test_s, history=train_s).sum())
        actual = float(test_r.sum())
        error = abs(predicted - actual) / actual if actual > 0 else None
        if error is not None:
            errors.append(error)
        predicted_total += predicted
        actual_total += actual
        channels[channel] = {"predicted": predicted, "actual": actual, "error": error}
    return {
        "holdout_weeks": HOLDOUT_WEEKS,
        "mape": float(np.mean(errors)) if errors else None,
        "total_error": abs(predicted_total - actual_total) / actual_total if actual_total > 0 else None,
        "predicted_revenue": predicted_total,
        "actual_revenue": actual_total,
        "channels": channels,
    }


def planted_beta(spend: np.ndarray, revenue: np.ndarray, kappa: float, baseline: bool = False) -> float:
    """The least-squares height of the planted shape ``x / (x + kappa)`` (module docstring); with
    ``baseline`` (a channel the demo gives unpaid volume ``b_c > 0``), of ``b + beta x / (x + kappa)``,
    whose constant does not move with spend and is left out of the curve."""
    h = spend / (spend + kappa)
    design = np.column_stack([h, np.ones_like(h)]) if baseline else h[:, None]
    if not np.any(h > 0):
        return 0.0
    coefficients = np.linalg.lstsq(design, revenue, rcond=None)[0]
    return float(coefficients[0])
