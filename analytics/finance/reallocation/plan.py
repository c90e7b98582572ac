"""The advice: inputs, curves, the optimizer and the backtest put together (the spec's
``optimizeBudgetAllocation``), in the spec's output shape.

**Plan period.** The advice is for the next *n* weeks (``plan_weeks``, default 13: a quarter).
A channel's **current allocation** is its spend rate over the analysis period's last 13 weeks,
:math:`s_{0,c} = n \\cdot \\bar x_c`; the total budget defaults to :math:`\\sum_c s_{0,c}`.
Curves are plan-period Hill curves (:meth:`.curves.HillCurve.over_weeks`).

**Bounds.** By default :math:`[(1 - m) s_{0,c}, (1 + m) s_{0,c}]` with the maximum shift *m*
(0.3: Meridian's ±30%); a per-channel minimum raises the lower bound, a per-channel maximum
replaces the upper one; a locked channel keeps :math:`s_{0,c}`. A channel without a usable
curve (no spend in the period, too few weeks, a failed fit) is locked at its current spend and
flagged; the others are optimized.

**Expected improvement.** :math:`\\Delta = \\sum_c w_c (r_c(\\hat s_c) - r_c(s_{0,c}))` with the
objective's weights; ``low`` and ``high`` are the 2.5% and 97.5% percentiles of Δ over the
bootstrap replicates of the fitted curves (a user's curve counts at its value in every
replicate).

**Risk flags** per channel: ``beyond_observed`` (the recommended weekly spend is above 1.2× the
highest weekly spend observed: the curve is extrapolated), ``few_weeks`` (fewer than
:data:`FEW_WEEKS` mature weeks with spend), ``poor_fit`` (:math:`R^2 <` :data:`POOR_FIT`),
``fit_failed`` and ``no_history`` (kept at the current spend), ``locked``.

**Timeline.** The shift in :data:`STEPS` equal steps of two weeks each: step *k* spends
:math:`s_0 + (k / 3)(\\hat s - s_0)`; its checkpoint is the expected weekly attributed revenue at
that spend, :math:`\\sum_c r_c(s_k) / n`, with the bootstrap's 2.5% bound as the floor to check
against before the next step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from analytics.core.errors import RevLensError
from analytics.finance.reallocation.curves import DEFAULT_N_BOOT, HillCurve, HillFit
from analytics.finance.reallocation.inputs import DEFAULT_GROSS_MARGIN, ChannelInputs, channel_inputs
from analytics.finance.reallocation.optimizer import Allocation, best_at_roas, minimum_budget, optimize, to_cents
from analytics.warehouse.runner import Query

OBJECTIVES = ("revenue", "ltv")
# The output's fields, in the spec's order (``--format json``).
SPEC_FIELDS = (
    "current_allocation",
    "optimized_allocation",
    "expected_improvement",
    "risk_assessment",
    "implementation_timeline",
    "curves",
    "marginal_roi",
    "backtest",
)
SCENARIOS = ("total", "revenue_target", "roas_target")
DEFAULT_MAX_SHIFT = 0.3
DEFAULT_PLAN_WEEKS = 13
RATE_WEEKS = 13
FEW_WEEKS = 26
MIN_FIT_WEEKS = 8
POOR_FIT = 0.3
BEYOND_OBSERVED = 1.2
STEPS = 3
STEP_WEEKS = 2
COST_RANGE = Query(
    "finance.reallocation_cost_range",
    """
with
    booked_costs as (
        select cost_date from campaign_costs where campaign_id is not null
    )
select min(cost_date) as first_cost, cast(last_day(max(cost_date)) as date) as last_day
from booked_costs
""",
    "The first booked cost and the last day of the latest cost month (the default analysis period).",
)
RISK_FLAGS = ("beyond_observed", "few_weeks", "poor_fit", "fit_failed", "no_history", "locked")


@dataclass(frozen=True)
class ChannelBounds:
    """A user's bounds for one channel (plan-period dollars); None keeps the default."""

    minimum: float | None = None
    maximum: float | None = None
    locked: bool = False


@dataclass
class ChannelCurve:
    """A channel's curve for the plan period and where it came from."""

    channel: str
    curve: HillCurve | None
    source: str  # fitted | user | none
    fit: HillFit | None = None
    note: str | None = None
    weeks: int = 0
    observed_max_weekly: float = 0.0
    observed_min_weekly: float = 0.0


@dataclass(frozen=True)
class Reallocation:
    """The advice; :meth:`to_dict` is the spec's output shape (``--format json``)."""

    channels: list[str]
    current: np.ndarray
    optimized: np.ndarray
    current_cents: list[int]
    optimized_cents: list[int]
    lower: np.ndarray
    upper: np.ndarray
    weights: np.ndarray
    curves: list[ChannelCurve]
    allocation: Allocation
    improvement: tuple[float, float, float]
    current_value: float
    optimized_value: float
    risk: dict[str, list[str]]
    timeline: list[dict]
    backtest: dict
    objective: str
    scenario: str
    plan_weeks: int
    total_budget: float
    inputs: ChannelInputs
    notes: list[str] = field(default_factory=list)

    def marginal_roi(self) -> dict[str, float]:
        return {ch: float(m) for ch, m in zip(self.channels, self.allocation.marginal)}

    def curves_dict(self) -> dict[str, dict]:
        out = {}
        for cc, w in zip(self.curves, self.weights):
            entry: dict = {"source": cc.source, "kind": "hill", "period_weeks": self.plan_weeks}
            if cc.curve is not None:
                entry.update(cc.curve.params())
            else:
                entry.update(beta=None, alpha=None, kappa=None)
            fit = cc.fit
            entry["r2"] = fit.r2_ if fit is not None else None
            entry["fit_quality"] = (
                None if fit is None else "good" if fit.r2_ >= 0.6 else "fair" if fit.r2_ >= POOR_FIT else "poor"
            )
            entry["weeks"] = cc.weeks
            entry["observed_weekly_spend"] = [cc.observed_min_weekly, cc.observed_max_weekly]
            entry["objective_weight"] = float(w)
            if fit is not None:
                n = self.plan_weeks
                scale = {"beta": n, "alpha": 1.0, "kappa": n, "theta": 1.0}
                entry["intervals"] = {k: [lo * scale[k], hi * scale[k]] for k, (lo, hi) in fit.intervals_.items()}
                entry["adstock_theta"] = fit.theta_
            if cc.note:
                entry["note"] = cc.note
            out[cc.channel] = entry
        return out

    def to_dict(self) -> dict:
        value, low, high = self.improvement
        return {
            "current_allocation": {ch: c / 100 for ch, c in zip(self.channels, self.current_cents)},
            "optimized_allocation": {ch: c / 100 for ch, c in zip(self.channels, self.optimized_cents)},
            "expected_improvement": {
                "value": value,
                "low": low,
                "high": high,
                "objective": self.objective,
                "current": self.current_value,
                "optimized": self.optimized_value,
                "percent": value / self.current_value * 100 if self.current_value else None,
            },
            "risk_assessment": self.risk,
            "implementation_timeline": self.timeline,
            "curves": self.curves_dict(),
            "marginal_roi": self.marginal_roi(),
            "backtest": self.backtest,
        }

    def table(self):
        """One row per channel: the before/after table of the page and the CSV."""
        import polars as pl

        return pl.DataFrame(
            {
                "channel": self.channels,
                "current_spend": [c / 100 for c in self.current_cents],
                "optimized_spend": [c / 100 for c in self.optimized_cents],
                "change": [(o - c) / 100 for c, o in zip(self.current_cents, self.optimized_cents)],
                "change_pct": [
                    (o - c) / c * 100 if c else None for c, o in zip(self.current_cents, self.optimized_cents)
                ],
                "lower_bound": self.lower.tolist(),
                "upper_bound": self.upper.tolist(),
                "current_revenue": [_value(cc.curve, s) for cc, s in zip(self.curves, self.current)],
                "expected_revenue": [_value(cc.curve, s) for cc, s in zip(self.curves, self.optimized)],
                "marginal_roi": [float(m) for m in self.allocation.marginal],
                "status": list(self.allocation.status),
                "beta": [cc.curve.beta if cc.curve else None for cc in self.curves],
                "alpha": [cc.curve.alpha if cc.curve else None for cc in self.curves],
                "kappa": [cc.curve.kappa if cc.curve else None for cc in self.curves],
                "r2": [cc.fit.r2_ if cc.fit else None for cc in self.curves],
                "risk_flags": [", ".join(self.risk[ch]) for ch in self.channels],
                "cac": [self.inputs.cac.get(ch) for ch in self.channels],
                "ltv": [self.inputs.ltv.get(ch) for ch in self.channels],
                "ltv_multiple": [self.inputs.ltv_multiple.get(ch) for ch in self.channels],
            },
            schema_overrides={
                "change_pct": pl.Float64,
                "beta": pl.Float64,
                "alpha": pl.Float64,
                "kappa": pl.Float64,
                "cac": pl.Float64,
                "ltv": pl.Float64,
                "ltv_multiple": pl.Float64,
            },
        )


def _value(curve: HillCurve | None, spend: float) -> float:
    return float(curve.value(spend)) if curve is not None else 0.0


class _Flat:
    """The curve of a channel without one: no revenue response (it only ever sits at a fixed spend)."""

    def value(self, spend):
        return np.zeros_like(np.asarray(spend, dtype=float))

    def marginal(self, spend):
        return np.zeros_like(np.asarray(spend, dtype=float))


def channel_series(inputs: ChannelInputs, channel: str, mature_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    import polars as pl

    frame = inputs.weekly.filter(pl.col("channel") == channel)
    if mature_only:
        frame = frame.filter(pl.col("mature"))
    return frame["spend"].to_numpy(), frame["attributed_revenue"].to_numpy()


def fit_curves(
    inputs: ChannelInputs,
    plan_weeks: int,
    user_curves: Mapping | None = None,
    adstock: bool = False,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
) -> list[ChannelCurve]:
    """Each channel's plan-period curve: the user's where given, else a Hill fit of its mature
    weeks; a failed fit leaves the channel without a curve (flagged), never stops the others."""
    user_curves = dict(user_curves or {})
    out = []
    for i, channel in enumerate(inputs.channels):
        spend, revenue = channel_series(inputs, channel)
        all_spend, _ = channel_series(inputs, channel, mature_only=False)
        with_spend = int(np.sum(spend > 0))
        observed = (float(all_spend[all_spend > 0].min()) if np.any(all_spend > 0) else 0.0, float(all_spend.max()))
        entry = ChannelCurve(
            channel, None, "none", weeks=with_spend, observed_min_weekly=observed[0], observed_max_weekly=observed[1]
        )
        if channel in user_curves:
            entry.curve, entry.source = user_curves[channel].over_weeks(plan_weeks), "user"
        elif not np.any(all_spend > 0):
            entry.note = "No spend in the analysis period: nothing to fit; kept at its current spend."
        elif with_spend < MIN_FIT_WEEKS:
            entry.note = (
                f"Only {with_spend} mature week(s) with spend (a fit needs {MIN_FIT_WEEKS}); kept at its current spend."
            )
        else:
            try:
                fit = HillFit(adstock=adstock, n_boot=n_boot, seed=seed + i).fit(spend, revenue)
                entry.curve, entry.source, entry.fit = fit.curve(plan_weeks), "fitted", fit
            except (RevLensError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                entry.note = f"The fit failed ({exc}); kept at its current spend."
        out.append(entry)
    return out


def _bounds(channels, current, max_shift, bounds: Mapping[str, ChannelBounds], curves) -> tuple[np.ndarray, ...]:
    from analytics.core.money import dollars

    if not (isinstance(max_shift, int | float) and 0 <= max_shift <= 10):
        raise RevLensError(f"The maximum shift {max_shift!r} is not a fraction between 0 and 10; give e.g. 0.3.")
    unknown = [ch for ch in bounds if ch not in channels]
    if unknown:
        raise RevLensError(
            f"Unknown channel {', '.join(sorted(unknown))} in the bounds or locks; use one of {', '.join(channels)}."
        )
    lower = current * (1 - max_shift)
    upper = current * (1 + max_shift)
    fixed = np.zeros(len(channels), dtype=bool)
    for i, channel in enumerate(channels):
        b = bounds.get(channel)
        if curves[i].curve is None:
            fixed[i] = True
        if b is None:
            continue
        for name, value in (("minimum", b.minimum), ("maximum", b.maximum)):
            if value is not None and (not isinstance(value, int | float) or not np.isfinite(value) or value < 0):
                raise RevLensError(f"The {name} spend of {channel} ({value!r}) is not an amount of zero or more.")
        if b.minimum is not None and b.maximum is not None and b.minimum > b.maximum:
            raise RevLensError(
                f"The bounds of {channel} contradict each other: its minimum {dollars(b.minimum)} is above its "
                f"maximum {dollars(b.maximum)}; lower the minimum or raise the maximum."
            )
        if b.maximum is not None:
            upper[i] = b.maximum
        if b.minimum is not None:
            lower[i] = b.minimum
            upper[i] = max(upper[i], b.minimum) if b.maximum is None else upper[i]
        if b.maximum is not None and b.minimum is None:
            lower[i] = min(lower[i], b.maximum)
        fixed[i] |= b.locked
    lower[fixed] = current[fixed]
    upper[fixed] = current[fixed]
    return lower, upper, fixed


@dataclass(frozen=True)
class Prepared:
    """What the optimization reruns over: the inputs, the fitted (or user's) curves, the backtest."""

    inputs: ChannelInputs
    curves: list[ChannelCurve]
    backtest: dict


def prepare(
    con,
    start: date,
    end: date,
    *,
    model: str = "linear",
    user_curves: Mapping | None = None,
    curves_text: str | None = None,
    plan_weeks: int = DEFAULT_PLAN_WEEKS,
    adstock: bool = False,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    lookback_days: int = 90,
    gross_margin: float = DEFAULT_GROSS_MARGIN,
) -> Prepared:
    """Inputs, curves and backtest (the costly part; the page caches it). ``curves_text`` is an
    uploaded curves file's text (:func:`.userfile.parse_curves`), an alternative to ``user_curves``."""
    if curves_text is not None:
        from analytics.finance.reallocation.userfile import parse_curves

        user_curves = parse_curves(curves_text, "The uploaded curves file")
    inputs = channel_inputs(con, start, end, model=model, lookback_days=lookback_days, gross_margin=gross_margin)
    curves = fit_curves(inputs, plan_weeks, user_curves, adstock=adstock, n_boot=n_boot, seed=seed)
    return Prepared(inputs, curves, _backtest(con, inputs, curves, adstock, seed))


def reallocate(
    con,
    start: date,
    end: date,
    *,
    total_budget: float | None = None,
    max_shift: float = DEFAULT_MAX_SHIFT,
    bounds: Mapping[str, ChannelBounds] | None = None,
    locks: Sequence[str] = (),
    objective: str = "revenue",
    model: str = "linear",
    user_curves: Mapping | None = None,
    scenario: str = "total",
    revenue_target: float | None = None,
    roas_target: float | None = None,
    plan_weeks: int = DEFAULT_PLAN_WEEKS,
    adstock: bool = False,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    lookback_days: int = 90,
    gross_margin: float = DEFAULT_GROSS_MARGIN,
) -> Reallocation:
    """The budget advice for the next ``plan_weeks`` weeks from the analysis period ``[start, end]``."""
    prepared = prepare(
        con,
        start,
        end,
        model=model,
        user_curves=user_curves,
        plan_weeks=plan_weeks,
        adstock=adstock,
        n_boot=n_boot,
        seed=seed,
        lookback_days=lookback_days,
        gross_margin=gross_margin,
    )
    return advise(
        prepared.inputs,
        prepared.curves,
        total_budget=total_budget,
        max_shift=max_shift,
        bounds=bounds,
        locks=locks,
        objective=objective,
        scenario=scenario,
        revenue_target=revenue_target,
        roas_target=roas_target,
        plan_weeks=plan_weeks,
        adstock=adstock,
        backtest=prepared.backtest,
    )


def _backtest(con, inputs: ChannelInputs, curves: list[ChannelCurve], adstock: bool, seed: int) -> dict:
    from analytics.finance.reallocation.backtest import demo_touchpoints, holdout

    series = {cc.channel: channel_series(inputs, cc.channel) for cc in curves if cc.source == "fitted"}
    result = holdout(series, lambda: HillFit(adstock=adstock, n_boot=0, seed=seed))
    result["demo_touchpoints"] = demo_touchpoints(con)
    return result


ANALYSIS_WEEKS = 78


def analysis_period(con) -> tuple[date, date]:
    """The default analysis period: the :data:`ANALYSIS_WEEKS` weeks (18 months) up to the last day
    of the latest cost month, or from the first cost if the data is shorter."""
    from datetime import timedelta

    from analytics.warehouse.runner import rows

    found = rows(con, COST_RANGE)
    first, last = found[0] if found else (None, None)
    if last is None:
        raise RevLensError("The warehouse has no campaign costs; import a cost sheet before asking for a budget plan.")
    return max(first, last - timedelta(weeks=ANALYSIS_WEEKS) + timedelta(days=1)), last


def current_allocation(inputs: ChannelInputs, plan_weeks: int) -> np.ndarray:
    """``plan_weeks`` times each channel's mean weekly spend over the last :data:`RATE_WEEKS` weeks."""
    out = []
    for channel in inputs.channels:
        spend, _ = channel_series(inputs, channel, mature_only=False)
        recent = spend[-RATE_WEEKS:]
        out.append(float(recent.mean()) * plan_weeks if len(recent) else 0.0)
    return np.round(np.array(out), 2)


def advise(
    inputs: ChannelInputs,
    curves: list[ChannelCurve],
    *,
    total_budget: float | None = None,
    max_shift: float = DEFAULT_MAX_SHIFT,
    bounds: Mapping[str, ChannelBounds] | None = None,
    locks: Sequence[str] = (),
    objective: str = "revenue",
    scenario: str = "total",
    revenue_target: float | None = None,
    roas_target: float | None = None,
    plan_weeks: int = DEFAULT_PLAN_WEEKS,
    adstock: bool = False,
    backtest: dict | None = None,
) -> Reallocation:
    """The optimization over already fitted curves (what the page reruns after a bound edit)."""
    if objective not in OBJECTIVES:
        raise RevLensError(f"Unknown objective {objective!r}; use revenue or ltv.")
    if scenario not in SCENARIOS:
        raise RevLensError(f"Unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}.")
    channels = inputs.channels
    bounds = dict(bounds or {})
    unknown = [ch for ch in locks if ch not in channels]
    if unknown:
        raise RevLensError(f"Unknown channel {', '.join(unknown)} in --lock; use one of {', '.join(channels)}.")
    for ch in locks:
        b = bounds.get(ch, ChannelBounds())
        bounds[ch] = ChannelBounds(b.minimum, b.maximum, True)
    current = current_allocation(inputs, plan_weeks)
    lower, upper, fixed = _bounds(channels, current, max_shift, bounds, curves)
    weights = np.array([inputs.ltv_multiple[ch] if objective == "ltv" else 1.0 for ch in channels])
    protocol = [cc.curve if cc.curve is not None else _Flat() for cc in curves]
    if scenario == "total":
        if total_budget is None:
            total_budget = float(current.sum())
        if isinstance(total_budget, bool) or not isinstance(total_budget, int | float) or not np.isfinite(total_budget):
            raise RevLensError(f"The total budget {total_budget!r} is not a number; give an amount such as 250000.")
        allocation = optimize(protocol, float(total_budget), lower, upper, weights, channels)
    elif scenario == "revenue_target":
        if revenue_target is None:
            raise RevLensError("The revenue-target scenario needs a target; give the revenue to reach.")
        allocation = minimum_budget(protocol, float(revenue_target), lower, upper, weights, channels)
    else:
        if roas_target is None:
            raise RevLensError("The ROAS-target scenario needs a target ROAS; give a ratio such as 3.5.")
        allocation = best_at_roas(protocol, float(roas_target), lower, upper, weights, channels)
    total = float(allocation.spend.sum()) if scenario != "total" else float(total_budget)
    total = round(total, 2)
    optimized_cents = to_cents(allocation.spend, total)
    optimized = np.array(optimized_cents) / 100
    current_cents = [int(round(c * 100)) for c in current]
    current_value = float(sum(w * _value(cc.curve, s) for cc, w, s in zip(curves, weights, current)))
    optimized_value = float(sum(w * _value(cc.curve, s) for cc, w, s in zip(curves, weights, optimized)))
    improvement = _improvement(curves, weights, current, optimized, optimized_value - current_value, plan_weeks)
    risk = _risk(curves, optimized, plan_weeks, fixed, bounds)
    timeline = _timeline(curves, current, optimized, plan_weeks, weights)
    notes = list(inputs.notes)
    result_backtest = dict(backtest or {})
    if result_backtest.get("demo_touchpoints"):
        result_backtest["planted"] = _planted(
            inputs, current, optimized, lower, upper, total, plan_weeks, result_backtest["demo_touchpoints"], weights
        )
    return Reallocation(
        channels=channels,
        current=current,
        optimized=optimized,
        current_cents=current_cents,
        optimized_cents=optimized_cents,
        lower=lower,
        upper=upper,
        weights=weights,
        curves=curves,
        allocation=allocation,
        improvement=improvement,
        current_value=current_value,
        optimized_value=optimized_value,
        risk=risk,
        timeline=timeline,
        backtest=result_backtest,
        objective=objective,
        scenario=scenario,
        plan_weeks=plan_weeks,
        total_budget=total,
        inputs=inputs,
        notes=notes,
    )


def _improvement(curves, weights, current, optimized, value, plan_weeks) -> tuple[float, float, float]:
    replicates = [len(cc.fit.boot_) for cc in curves if cc.fit is not None]
    n = min(replicates) if replicates else 0
    if n == 0:
        return value, value, value
    deltas = np.zeros(n)
    for cc, w, s0, s1 in zip(curves, weights, current, optimized):
        if cc.curve is None:
            continue
        if cc.fit is None:
            deltas += w * (_value(cc.curve, s1) - _value(cc.curve, s0))
            continue
        deltas += w * (cc.fit.boot_values(s1, plan_weeks)[:n] - cc.fit.boot_values(s0, plan_weeks)[:n])
    return value, float(np.percentile(deltas, 2.5)), float(np.percentile(deltas, 97.5))


def _risk(curves, optimized, plan_weeks, fixed, bounds) -> dict[str, list[str]]:
    risk = {}
    for i, cc in enumerate(curves):
        flags = []
        weekly = optimized[i] / plan_weeks
        if cc.observed_max_weekly > 0 and weekly > BEYOND_OBSERVED * cc.observed_max_weekly + 1e-9:
            flags.append("beyond_observed")
        if cc.source != "user" and cc.observed_max_weekly > 0 and cc.weeks < FEW_WEEKS:
            flags.append("few_weeks")
        if cc.fit is not None and cc.fit.r2_ < POOR_FIT:
            flags.append("poor_fit")
        if cc.source == "none" and cc.observed_max_weekly == 0:
            flags.append("no_history")
        elif cc.source == "none" and cc.weeks >= MIN_FIT_WEEKS:
            flags.append("fit_failed")
        if bounds.get(cc.channel, ChannelBounds()).locked:
            flags.append("locked")
        risk[cc.channel] = flags
    return risk


def _timeline(curves, current, optimized, plan_weeks, weights) -> list[dict]:
    steps = []
    for k in range(1, STEPS + 1):
        spend = current + (optimized - current) * k / STEPS
        weekly_revenue = sum(_value(cc.curve, s) for cc, s in zip(curves, spend)) / plan_weeks
        floor = 0.0
        for cc, s in zip(curves, spend):
            if cc.fit is not None and len(cc.fit.boot_):
                floor += float(np.percentile(cc.fit.boot_values(s, plan_weeks), 2.5))
            else:
                floor += _value(cc.curve, s)
        steps.append(
            {
                "step": k,
                "weeks": [STEP_WEEKS * (k - 1) + 1, STEP_WEEKS * k],
                "share_of_shift": k / STEPS,
                "allocation": {cc.channel: round(float(s), 2) for cc, s in zip(curves, spend)},
                "checkpoint": {
                    "metric": "attributed_revenue_per_week",
                    "expected": weekly_revenue,
                    "floor": floor / plan_weeks,
                },
            }
        )
    return steps


def _planted(inputs, current, optimized, lower, upper, total, plan_weeks, touchpoints, weights) -> dict:
    """Regret of the advice under the demo's planted curves (:mod:`.backtest`)."""
    from analytics.demo.truth import CHANNEL_TRUTH, planted_weekly_hill
    from analytics.finance.reallocation.backtest import planted_beta

    planted = []
    params = {}
    for channel in inputs.channels:
        if channel not in CHANNEL_TRUTH:
            planted.append(_Flat())
            continue
        alpha, kappa = planted_weekly_hill(channel, touchpoints)
        spend, revenue = channel_series(inputs, channel)
        beta = planted_beta(spend, revenue, kappa, baseline=CHANNEL_TRUTH[channel].baseline > 0)
        if beta <= 0:
            planted.append(_Flat())
            continue
        curve = HillCurve(beta, alpha, kappa).over_weeks(plan_weeks)
        planted.append(curve)
        params[channel] = curve.params()
    best = optimize(planted, total, lower, upper, weights, inputs.channels)

    def value(spend):
        return float(sum(w * float(c.value(s)) for c, w, s in zip(planted, weights, spend)))

    v_opt, v_rec, v_cur = value(best.spend), value(optimized), value(current)
    return {
        "curves": params,
        "optimal_allocation": {ch: round(float(s), 2) for ch, s in zip(inputs.channels, best.spend)},
        "optimal_value": v_opt,
        "recommended_value": v_rec,
        "current_value": v_cur,
        "regret": v_opt - v_rec,
        "regret_percent": (v_opt - v_rec) / v_opt * 100 if v_opt else None,
        "captured_share": (v_rec - v_cur) / (v_opt - v_cur) if v_opt - v_cur > 1e-9 else None,
    }
