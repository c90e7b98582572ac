"""The optimizer: the allocation of a total budget that maximizes expected (weighted) revenue over
per-channel bounds, and the two target scenarios. It reads curves only through the protocol of
:mod:`.curves` (``value``, ``marginal``).

**The problem.** Given curves :math:`r_c`, weights :math:`w_c` (1 for attributed revenue; the
LTV multiple for LTV-weighted revenue, :mod:`.inputs`), bounds :math:`l_c \\le s_c \\le u_c`
(a locked channel has :math:`l_c = u_c`; a minimum spend raises :math:`l_c`) and a total *B*:

.. math:: \\max_s \\sum_c w_c r_c(s_c) \\quad \\text{s.t.} \\quad \\sum_c s_c = B, \\; l_c \\le s_c \\le u_c

A total outside :math:`[\\sum l_c, \\sum u_c]` is refused with a sentence (never clipped).

**Optimality (KKT).** At the optimum there is a multiplier :math:`\\lambda` with
:math:`w_c r_c'(s_c) = \\lambda` for every channel strictly inside its bounds,
:math:`w_c r_c'(s_c) \\le \\lambda` at its lower bound and :math:`\\ge \\lambda` at its upper
bound: the marginal return is equal across the channels not at a bound (:func:`kkt_check`).
For concave curves (Hill with :math:`\\alpha \\le 1`) these conditions are sufficient, and the
solution is found by bisection on :math:`\\lambda`: each channel's spend
:math:`s_c(\\lambda) = \\operatorname{clip}(r_c'^{-1}(\\lambda / w_c), l_c, u_c)` falls as
:math:`\\lambda` rises, so :math:`\\sum_c s_c(\\lambda) = B` has one root (Everett 1963; the
water-filling of resource allocation, Ibaraki & Katoh 1988).

With S-shaped curves (:math:`\\alpha > 1`) equal marginals are necessary but not sufficient,
and the sum can jump past *B* (a duality gap). Then a dynamic programme over the budget in
1/1000 steps finds the global optimum on that grid (exact for a separable objective: Bellman's
recursion :math:`F_c(b) = \\max_k F_{c-1}(b - k) + w_c r_c(l_c + k)`), and the same KKT
solve polishes the channels inside their bounds. Either way the result is checked: the
polished allocation is kept only if it is no worse than the grid's.

**Exact total.** The allocation is returned in cents whose sum is exactly the total's cents
(the largest-remainder rounding of :func:`to_cents`).

**Target scenarios.** Let :math:`V(B)` be the optimum above. The *minimum budget for a revenue
target* *T* is the least *B* in :math:`[\\sum l_c, \\sum u_c]` with :math:`V(B) \\ge T`
(bisection: *V* does not fall as *B* grows when marginal returns are not negative). The *best
revenue at a target ROAS* :math:`\\rho` is :math:`V(B^*)` at the largest *B* with
:math:`V(B) / B \\ge \\rho` (a scan of 41 totals, then bisection on the last crossing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.core.errors import RevLensError
from analytics.core.money import dollars

GRID = 513  # points per channel for the concavity check and the first guess of the multiplier
DP_STEPS = 1000  # the dynamic programme's budget steps
KKT_TOLERANCE = 1e-6  # relative: marginal returns equal to this precision


@dataclass(frozen=True)
class Allocation:
    """An optimal allocation: ``spend`` per channel (plan-period dollars), its objective value
    ``value``, the multiplier ``multiplier`` (the common marginal return of the free channels;
    None when every channel sits at a bound), ``marginal`` (each channel's weighted marginal
    return at its spend) and ``status`` per channel (``free``, ``lower``, ``upper``, ``fixed``)."""

    spend: np.ndarray
    value: float
    multiplier: float | None
    marginal: np.ndarray
    status: tuple[str, ...]
    method: str


def _objective(curves, weights, spend) -> float:
    return float(sum(w * float(c.value(s)) for c, w, s in zip(curves, weights, spend)))


def _marginals(curves, weights, spend) -> np.ndarray:
    return np.array([w * float(c.marginal(s)) for c, w, s in zip(curves, weights, spend)])


def check_bounds(total: float, lower: np.ndarray, upper: np.ndarray, names: Sequence[str] | None = None) -> None:
    """A clear error for contradictory bounds or a total the bounds cannot meet."""
    names = list(names) if names is not None else [f"channel {i + 1}" for i in range(len(lower))]
    if not np.isfinite(total) or total < 0:
        raise RevLensError(f"The total budget {total!r} is not a non-negative number; give an amount such as 250000.")
    for name, lo, hi in zip(names, lower, upper):
        if lo < 0:
            raise RevLensError(f"The lower bound of {name} ({dollars(lo)}) is negative; use zero or more.")
        if lo > hi + 1e-9:
            raise RevLensError(
                f"The bounds of {name} contradict each other: its minimum {dollars(lo)} is above its maximum "
                f"{dollars(hi)}; lower the minimum or raise the maximum."
            )
    low, high = float(np.sum(lower)), float(np.sum(upper))
    if total < low - 1e-6 * max(1.0, low):
        raise RevLensError(
            f"The total budget {dollars(total)} is below the sum of the channels' minimums ({dollars(low)}); "
            "raise the total or lower the minimums (locked channels count at their current spend)."
        )
    if total > high + 1e-6 * max(1.0, high):
        raise RevLensError(
            f"The total budget {dollars(total)} is above what the channels' maximums allow ({dollars(high)}); "
            "lower the total, raise the maximums (a wider --max-shift) or unlock channels."
        )


def optimize(
    curves: Sequence,
    total: float,
    lower: Sequence[float],
    upper: Sequence[float],
    weights: Sequence[float] | None = None,
    names: Sequence[str] | None = None,
) -> Allocation:
    """The allocation of ``total`` maximizing ``sum(w_c r_c(s_c))`` within the bounds (module docstring)."""
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    weights = np.ones(len(curves)) if weights is None else np.asarray(weights, dtype=float)
    check_bounds(total, lower, upper, names)
    total = float(np.clip(total, lower.sum(), upper.sum()))  # only float noise is clipped: checked above
    upper = np.maximum(upper, lower)
    grids = [np.linspace(lo, hi, GRID) for lo, hi in zip(lower, upper)]
    marginal_grids = [w * np.asarray(c.marginal(g), dtype=float) for c, w, g in zip(curves, weights, grids)]
    concave = all(np.all(np.diff(m) <= 1e-12 * max(1.0, np.abs(m).max())) for m in marginal_grids)
    if concave:
        spend = _water_fill(grids, marginal_grids, total, lower, upper)
        method = "bisection on the marginal return (concave curves)"
        snap = 1e-7 * np.maximum(1.0, upper)
    else:
        spend = _dynamic_programme(curves, weights, total, lower, upper)
        method = "dynamic programme over 1/1000 of the budget, then the marginal-return solve (S-shaped curves)"
        snap = np.full(len(spend), 1.5 * (total - lower.sum()) / DP_STEPS + 1e-9)  # within a step of a bound
    polished = _polish(curves, weights, spend, total, lower, upper, grids, marginal_grids, snap)
    if polished is not None and _objective(curves, weights, polished) >= _objective(curves, weights, spend) - 1e-9:
        spend = polished
    spend = _exact_total(spend, total, lower, upper)
    return _allocation(curves, weights, spend, lower, upper, method)


def _allocation(curves, weights, spend, lower, upper, method) -> Allocation:
    marginal = _marginals(curves, weights, spend)
    span = np.maximum(upper - lower, 0)
    tol = 1e-7 * np.maximum(1.0, upper)
    status = tuple(
        "fixed"
        if span[i] <= tol[i]
        else "lower"
        if spend[i] <= lower[i] + tol[i]
        else "upper"
        if spend[i] >= upper[i] - tol[i]
        else "free"
        for i in range(len(spend))
    )
    free = [marginal[i] for i, s in enumerate(status) if s == "free"]
    return Allocation(
        spend=spend,
        value=_objective(curves, weights, spend),
        multiplier=float(np.median(free)) if free else None,
        marginal=marginal,
        status=status,
        method=method,
    )


def _water_fill(grids, marginal_grids, total, lower, upper) -> np.ndarray:
    """Concave curves: bisection on the multiplier, each channel's spend read off its
    (decreasing) marginal-return grid by interpolation; the polish makes it exact."""

    def spend_at(lam: float) -> np.ndarray:
        out = np.empty(len(grids))
        for i, (g, m) in enumerate(zip(grids, marginal_grids)):
            out[i] = g[0] if g[0] == g[-1] else np.interp(-lam, -m, g)  # -m increases along g
        return out

    high = max(float(m.max()) for m in marginal_grids) + 1.0
    low = min(float(m.min()) for m in marginal_grids) - 1.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        if spend_at(mid).sum() > total:
            low = mid
        else:
            high = mid
    return spend_at(0.5 * (low + high))


def _dynamic_programme(curves, weights, total, lower, upper) -> np.ndarray:
    """Global optimum on a grid: the budget above the minimums in :data:`DP_STEPS` steps."""
    room = total - lower.sum()
    if room <= 0:
        return lower.copy()
    unit = room / DP_STEPS
    best = np.full(DP_STEPS + 1, -np.inf)
    best[0] = 0.0
    choices = []
    for c, w, lo, hi in zip(curves, weights, lower, upper):
        k_max = min(DP_STEPS, int(np.floor((hi - lo) / unit + 1e-9)))
        values = w * np.asarray(c.value(lo + unit * np.arange(k_max + 1)), dtype=float)
        n = np.arange(DP_STEPS + 1)[:, None]
        k = np.arange(k_max + 1)[None, :]
        candidate = np.where(n - k >= 0, best[np.clip(n - k, 0, None)] + values[None, :], -np.inf)
        pick = np.argmax(candidate, axis=1)
        best = candidate[np.arange(DP_STEPS + 1), pick]
        choices.append(pick)
    n = int(np.argmax(np.where(np.isfinite(best), np.arange(DP_STEPS + 1), -1)))  # as much of the budget as fits
    spend = lower.copy()
    for i in range(len(curves) - 1, -1, -1):
        k = int(choices[i][n])
        spend[i] = lower[i] + k * unit
        n -= k
    return spend


def _decreasing_stretch(grid, marginal, value) -> tuple[float, float] | None:
    """The stretch of ``grid`` around ``value`` on which the marginal return decreases."""
    i = int(np.clip(np.searchsorted(grid, value), 1, len(grid) - 1))
    d = np.diff(marginal)
    if d[i - 1] > 0:
        return None
    a = i - 1
    while a > 0 and d[a - 1] <= 0:
        a -= 1
    b = i
    while b < len(d) and d[b] <= 0:
        b += 1
    return float(grid[a]), float(grid[b])


def _polish(curves, weights, spend, total, lower, upper, grids, marginal_grids, snap) -> np.ndarray | None:
    """Exact KKT on the channels inside their bounds: ``w_c r_c'(s_c) = lambda`` with ``sum s_c``
    equal to what the channels at a bound leave (nested Brent root finds). A channel within
    ``snap`` of a bound is put at that bound first (the grid's step)."""
    from scipy.optimize import brentq

    spend = spend.copy()
    at_lower = spend <= lower + snap
    at_upper = ~at_lower & (spend >= upper - snap)
    spend[at_lower], spend[at_upper] = lower[at_lower], upper[at_upper]
    free = [i for i in range(len(spend)) if not (at_lower[i] or at_upper[i])]
    if not free:
        return spend if abs(spend.sum() - total) <= 1e-6 * max(1.0, total) else None
    left = total - sum(spend[i] for i in range(len(spend)) if i not in free)
    if len(free) == 1:  # the budget constraint alone fixes it (it may sit on a convex stretch)
        (i,) = free
        if not lower[i] <= left <= upper[i]:
            return None
        spend[i] = left
        return spend
    stretches = {}
    for i in free:
        stretch = _decreasing_stretch(grids[i], marginal_grids[i], spend[i])
        if stretch is None:
            return None
        stretches[i] = stretch

    def marginal(i, s):
        return weights[i] * float(curves[i].marginal(s))

    def spend_at(i, lam):
        a, b = stretches[i]
        if marginal(i, a) <= lam:
            return a
        if marginal(i, b) >= lam:
            return b
        return brentq(lambda s: marginal(i, s) - lam, a, b, xtol=1e-10 * max(1.0, b), rtol=1e-13)

    lam_high = max(marginal(i, stretches[i][0]) for i in free)
    lam_low = min(marginal(i, stretches[i][1]) for i in free)

    def gap(lam):
        return sum(spend_at(i, lam) for i in free) - left

    if lam_high <= lam_low or gap(lam_low) < 0 or gap(lam_high) > 0:
        return None
    lam = brentq(gap, lam_low, lam_high, xtol=1e-14 * max(1.0, abs(lam_high)), rtol=1e-13)
    out = spend.copy()
    for i in free:
        out[i] = spend_at(i, lam)
    return out


def _exact_total(spend, total, lower, upper) -> np.ndarray:
    """Move the float residue of ``total - sum(spend)`` onto the channels with room for it."""
    spend = np.clip(spend, lower, upper)
    residue = total - spend.sum()
    order = np.argsort(-(upper - spend) if residue > 0 else -(spend - lower))
    for i in order:
        if abs(residue) <= 0:
            break
        room = upper[i] - spend[i] if residue > 0 else lower[i] - spend[i]
        move = min(residue, room) if residue > 0 else max(residue, room)
        spend[i] += move
        residue -= move
    return spend


def to_cents(spend: Sequence[float], total: float) -> list[int]:
    """Whole cents per channel summing exactly to ``round(total * 100)`` (largest remainder)."""
    exact = np.asarray(spend, dtype=float) * 100.0
    floors = np.floor(exact + 1e-9).astype(np.int64)
    short = int(round(total * 100)) - int(floors.sum())
    order = np.argsort(-(exact - floors), kind="stable")
    for i in order[: max(short, 0)]:
        floors[i] += 1
    for i in order[::-1][: max(-short, 0)]:
        floors[i] -= 1
    return [int(c) for c in floors]


def kkt_check(curves, allocation: Allocation, lower, upper, weights=None, tolerance: float = 1e-4) -> list[str]:
    """The violated optimality conditions of ``allocation`` (empty when it is optimal)."""
    weights = np.ones(len(curves)) if weights is None else np.asarray(weights, dtype=float)
    m = _marginals(curves, weights, allocation.spend)
    lam = allocation.multiplier
    problems = []
    if lam is None:
        return problems
    scale = max(abs(lam), 1e-12)
    for i, status in enumerate(allocation.status):
        if status == "free" and abs(m[i] - lam) > tolerance * scale:
            problems.append(f"channel {i}: marginal {m[i]:.6g} != {lam:.6g}")
        if status == "lower" and m[i] > lam + tolerance * scale:
            problems.append(f"channel {i} at its lower bound earns {m[i]:.6g} > {lam:.6g} at the margin")
        if status == "upper" and m[i] < lam - tolerance * scale:
            problems.append(f"channel {i} at its upper bound earns {m[i]:.6g} < {lam:.6g} at the margin")
    return problems


# --------------------------------------------------------------------------- target scenarios


def minimum_budget(curves, target: float, lower, upper, weights=None, names=None) -> Allocation:
    """The least total whose optimal allocation reaches ``target`` (module docstring)."""
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if not np.isfinite(target) or target <= 0:
        raise RevLensError(f"The revenue target {target!r} is not a positive number; give an amount such as 5000000.")
    check_bounds(float(lower.sum()), lower, upper, names)
    best = optimize(curves, float(upper.sum()), lower, upper, weights, names)
    if best.value < target:
        raise RevLensError(
            f"The revenue target {dollars(target)} is out of reach within the bounds: at most {dollars(best.value)} "
            f"at a total of {dollars(float(upper.sum()))}; lower the target or raise the channels' maximums."
        )
    low, high = float(lower.sum()), float(upper.sum())
    if optimize(curves, low, lower, upper, weights, names).value >= target:
        return optimize(curves, low, lower, upper, weights, names)
    for _ in range(50):
        mid = 0.5 * (low + high)
        if optimize(curves, mid, lower, upper, weights, names).value >= target:
            high = mid
        else:
            low = mid
        if high - low <= 0.005:  # half a cent
            break
    return optimize(curves, high, lower, upper, weights, names)


def best_at_roas(curves, roas: float, lower, upper, weights=None, names=None) -> Allocation:
    """The most revenue with ``revenue / total >= roas`` (module docstring)."""
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if not np.isfinite(roas) or roas <= 0:
        raise RevLensError(f"The target ROAS {roas!r} is not a positive number; give a ratio such as 3.5.")
    check_bounds(float(lower.sum()), lower, upper, names)
    low, high = max(float(lower.sum()), 1e-9), float(upper.sum())
    totals = np.linspace(low, high, 41)

    def ratio(b):
        return optimize(curves, b, lower, upper, weights, names).value / b

    meets = [ratio(b) >= roas for b in totals]
    if not any(meets):
        best = max(totals, key=ratio)
        raise RevLensError(
            f"No total within the bounds reaches a ROAS of {roas:g}: the best is {ratio(best):.2f} at "
            f"{dollars(best)}; lower the target ROAS or widen the bounds."
        )
    last = max(i for i, ok in enumerate(meets) if ok)
    if last == len(totals) - 1:
        return optimize(curves, high, lower, upper, weights, names)
    a, b = totals[last], totals[last + 1]
    for _ in range(50):
        mid = 0.5 * (a + b)
        if ratio(mid) >= roas:
            a = mid
        else:
            b = mid
        if b - a <= 0.005:
            break
    return optimize(curves, a, lower, upper, weights, names)
