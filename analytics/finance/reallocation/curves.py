"""Response curves: the small protocol the optimizer works over, the registry of curve kinds, and
the Hill fit (scipy, under bounds) with optional geometric adstock.

**The protocol.** A response curve is anything with ``value(s)`` (expected attributed revenue
of spending ``s`` in the plan period) and ``marginal(s)`` (its derivative, revenue per extra
dollar), both elementwise on numpy arrays (:class:`ResponseCurve`). The optimizer
(:mod:`.optimizer`) reads nothing else, so a curve from the user's own marketing-mix model
works the same as a fitted one.

**Hill** (:class:`HillCurve`), the one kind in :data:`CURVE_KINDS` today:

.. math:: r(s) = \\beta \\frac{s^\\alpha}{\\kappa^\\alpha + s^\\alpha}, \\qquad
          r'(s) = \\beta \\frac{\\alpha \\kappa^\\alpha s^{\\alpha - 1}}{(\\kappa^\\alpha + s^\\alpha)^2}

``beta`` is the ceiling (revenue at saturation), ``kappa`` the half-saturation spend
(:math:`r(\\kappa) = \\beta / 2`), ``alpha`` the shape: concave for :math:`\\alpha \\le 1`,
S-shaped for :math:`\\alpha > 1` with its steepest point at
:math:`s = \\kappa ((\\alpha - 1)/(\\alpha + 1))^{1/\\alpha}` (Hill 1910; the saturation of
PyMC-Marketing's ``HillSaturation``, Meridian and Robyn).

**Geometric adstock** (optional): the response in week *t* is to the carried-over spend

.. math:: a_t = (1 - \\theta) x_t + \\theta a_{t-1}, \\quad a_0 = x_0

(weights :math:`(1 - \\theta)\\theta^j` on the spend *j* weeks back, which sum to 1: PyMC-
Marketing's ``GeometricAdstock(normalize=True)``; Jin et al. 2017, *Bayesian Methods for Media
Mix Modeling with Carryover and Shape Effects*). At a steady weekly spend *x*, :math:`a = x`.

**Weekly fit to plan-period curve.** The weekly fit :math:`r_w(x)` (weekly revenue of weekly
spend *x*) becomes a curve of the plan period's total spend *S* spread evenly over its *n*
weeks (at steady state, with or without adstock, :math:`a = S / n`):

.. math:: R(S) = n\\, r_w(S / n) = (n\\beta) \\frac{S^\\alpha}{(n\\kappa)^\\alpha + S^\\alpha}

so the plan-period curve is again a Hill, with :math:`\\beta_P = n\\beta`, :math:`\\kappa_P =
n\\kappa` and the same :math:`\\alpha` (:meth:`HillCurve.over_weeks`). Those are the parameters
the output reports: anyone can recompute the expected revenue of any allocation from them.

**The fit** (:class:`HillFit`): least squares of weekly attributed revenue on weekly spend,
``scipy.optimize.least_squares`` (trust-region reflective, under bounds), on data scaled to
the channel's median spend and mean revenue. Bounds: :math:`\\alpha \\in [0.3, 3]` (Robyn's
range is [0.5, 3]), :math:`\\kappa \\in [s_{min}/10, 10 s_{max}]` of the observed spend,
:math:`\\beta \\in (0, 100 \\max r]`, :math:`\\theta \\in [0, 0.9]`; three starting shapes
(:math:`\\alpha` = 0.7, 1, 2), the best kept. Fit quality is
:math:`R^2 = 1 - \\sum (r - \\hat r)^2 / \\sum (r - \\bar r)^2` in sample.

**Bootstrap intervals** on the parameters: a moving-block bootstrap of the residuals (blocks
of 4 weeks, so the weeks' correlation is kept; Künsch 1989), :math:`r^* = \\hat r + e^*`, each
replicate refitted from the fit's parameters. The replicates are independent, so all are
fitted together as one batch of projected Levenberg-Marquardt steps (one small normal-equation
solve per replicate and step, under the fit's bounds), and the adstock recursion runs as a
log-depth scan over the weeks: that keeps 100 refits of 20 channels within the benchmark's
two seconds. Intervals are the 2.5% and 97.5% percentiles; the replicate curves
also give the expected improvement's interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from analytics.core.errors import RevLensError

ALPHA_BOUNDS = (0.3, 3.0)
THETA_MAX = 0.9
STARTING_ALPHAS = (0.7, 1.0, 2.0)
BLOCK_WEEKS = 4
DEFAULT_N_BOOT = 100
PARAMETERS = ("beta", "alpha", "kappa")


@runtime_checkable
class ResponseCurve(Protocol):
    """What the optimizer needs of a curve: revenue and marginal revenue of plan-period spend."""

    def value(self, spend: np.ndarray | float) -> np.ndarray: ...

    def marginal(self, spend: np.ndarray | float) -> np.ndarray: ...


@dataclass(frozen=True)
class HillCurve:
    """``r(s) = beta * s**alpha / (kappa**alpha + s**alpha)`` (module docstring)."""

    beta: float
    alpha: float
    kappa: float
    kind: str = field(default="hill", init=False)

    def __post_init__(self):
        for name in PARAMETERS:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise RevLensError(f"A Hill curve's {name} must be a positive number, not {value!r}.")

    def value(self, spend):
        s = np.maximum(np.asarray(spend, dtype=float), 0.0)
        ratio = (s / self.kappa) ** self.alpha
        return self.beta * ratio / (1.0 + ratio)

    def marginal(self, spend):
        s = np.maximum(np.asarray(spend, dtype=float), 1e-12)
        ratio = (s / self.kappa) ** self.alpha
        return self.beta * self.alpha * ratio / (s * (1.0 + ratio) ** 2)

    def over_weeks(self, weeks: float) -> HillCurve:
        """The curve of ``weeks`` weeks' total spend, spread evenly, from a weekly curve."""
        return HillCurve(self.beta * weeks, self.alpha, self.kappa * weeks)

    def params(self) -> dict:
        return {"beta": self.beta, "alpha": self.alpha, "kappa": self.kappa}


# The registry of curve kinds: a user's curves file names one per row (``kind``, default hill).
CURVE_KINDS: dict[str, type] = {"hill": HillCurve}


def make_curve(kind: str, params: Mapping[str, float]) -> ResponseCurve:
    """A curve of the registered ``kind`` from its parameters (a clear error otherwise)."""
    if kind not in CURVE_KINDS:
        raise RevLensError(f"Unknown curve kind {kind!r}; use one of {', '.join(CURVE_KINDS)}.")
    return CURVE_KINDS[kind](**{name: float(params[name]) for name in PARAMETERS})


# --------------------------------------------------------------------------- adstock


def geometric_adstock(spend: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
    """``a_t = (1 - theta) x_t + theta a_{t-1}``, ``a_0 = x_0``, along the last axis.

    ``theta`` is a number or one carry-over per row: ``(R,)`` with spend ``(T,)`` gives ``(R, T)``."""
    spend = np.asarray(spend, dtype=float)
    theta = np.asarray(theta, dtype=float)
    column = theta[..., np.newaxis]
    drive = np.broadcast_to((1.0 - column) * spend, np.broadcast_shapes(spend.shape, column.shape)).copy()
    drive[..., 0] = spend[..., 0]
    return _linear_scan(drive, theta)


def _linear_scan(drive: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
    """``y_t = theta y_{t-1} + b_t``, ``y_0 = b_0``, along the last axis, i.e.
    ``y_t = sum_{j <= t} theta^(t - j) b_j``: a Hillis-Steele scan, ``ceil(log2 T)`` array steps
    (after step *k* each ``y_t`` sums the last ``2^k`` terms) instead of a loop over the weeks."""
    out = np.array(drive, dtype=float)
    factor = np.asarray(theta, dtype=float)[..., np.newaxis]
    shift = 1
    while shift < out.shape[-1]:
        out[..., shift:] = out[..., shift:] + factor * out[..., :-shift]
        factor = factor * factor
        shift *= 2
    return out


def _adstock_derivative(spend: np.ndarray, carried: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``d a_t / d theta`` rowwise: ``d_t = a_{t-1} - x_t + theta d_{t-1}``, ``d_0 = 0``."""
    drive = np.zeros_like(carried)
    drive[..., 1:] = carried[..., :-1] - spend[..., 1:]
    return _linear_scan(drive, theta)


def hill(x: np.ndarray, beta, alpha, kappa) -> np.ndarray:
    """Elementwise Hill on arrays (the parameters broadcast)."""
    ratio = (np.maximum(x, 0.0) / kappa) ** alpha
    return beta * ratio / (1.0 + ratio)


# --------------------------------------------------------------------------- the fit


@dataclass
class HillFit:
    """Least-squares Hill fit of weekly revenue on weekly spend (module docstring).

    Parameters
    ----------
    adstock : also fit a geometric adstock's carry-over ``theta``.
    n_boot : bootstrap replicates for the intervals (0: none).
    seed : the bootstrap's random seed.

    Fitted attributes (after :meth:`fit`): ``beta_``, ``alpha_``, ``kappa_``, ``theta_`` (0
    without adstock), ``r2_``, ``n_weeks_``, ``spend_range_`` (min, max observed weekly spend),
    ``boot_`` (an ``(n_boot, 4)`` array of beta, alpha, kappa, theta), ``intervals_``
    (parameter -> (low, high)).
    """

    adstock: bool = False
    n_boot: int = DEFAULT_N_BOOT
    seed: int = 0

    def fit(self, spend, revenue) -> HillFit:
        spend = np.asarray(spend, dtype=float)
        revenue = np.asarray(revenue, dtype=float)
        if spend.shape != revenue.shape or spend.ndim != 1:
            raise ValueError("spend and revenue must be 1-D arrays of the same length")
        if len(spend) < 3 or not np.any(spend > 0):
            raise RevLensError("A Hill fit needs at least three weeks of data with spend.")
        if not np.any(revenue > 0):
            raise RevLensError("A Hill fit needs some attributed revenue; this channel has none in the period.")
        s_scale = float(np.median(spend[spend > 0]))
        r_scale = float(np.mean(revenue)) or 1.0
        x, y = spend / s_scale, revenue / r_scale
        lower, upper = self._bounds(x, y)
        best = None
        for alpha0 in STARTING_ALPHAS:
            start = np.array([np.log(2.0 * max(y.max(), 1e-6)), alpha0, np.log(1.0), 0.3 if self.adstock else 0.0])
            start = np.clip(start, lower + 1e-9, upper - 1e-9)
            result = _least_squares(x, y, start, lower, upper, self.adstock)
            if best is None or result.cost < best.cost:
                best = result
        p = best.x
        fitted = _predict(x, p[np.newaxis], self.adstock)[0]
        residual = y - fitted
        total = float(np.sum((y - y.mean()) ** 2))
        set_ = setattr
        set_(self, "params_scaled_", p)
        set_(self, "beta_", float(np.exp(p[0]) * r_scale))
        set_(self, "alpha_", float(p[1]))
        set_(self, "kappa_", float(np.exp(p[2]) * s_scale))
        set_(self, "theta_", float(p[3]) if self.adstock else 0.0)
        set_(self, "r2_", float(1.0 - np.sum(residual**2) / total) if total > 0 else 0.0)
        set_(self, "n_weeks_", len(spend))
        set_(self, "spend_range_", (float(spend.min()), float(spend.max())))
        boot = self._bootstrap(x, fitted, residual, p, lower, upper)
        boot[:, 0] = np.exp(boot[:, 0]) * r_scale
        boot[:, 2] = np.exp(boot[:, 2]) * s_scale
        set_(self, "boot_", boot)
        names = ("beta", "alpha", "kappa", "theta")
        set_(
            self,
            "intervals_",
            {
                n: (float(np.percentile(boot[:, i], 2.5)), float(np.percentile(boot[:, i], 97.5)))
                if len(boot)
                else (getattr(self, f"{n}_"),) * 2
                for i, n in enumerate(names)
            },
        )
        set_(self, "scales_", (s_scale, r_scale))
        return self

    def _bounds(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        positive = x[x > 0]
        lower = np.array([np.log(1e-6), ALPHA_BOUNDS[0], np.log(positive.min() / 10), 0.0])
        upper = np.array(
            [
                np.log(100 * max(y.max(), 1e-6)),
                ALPHA_BOUNDS[1],
                np.log(10 * x.max()),
                THETA_MAX if self.adstock else 1e-9,
            ]
        )
        return lower, upper

    def _bootstrap(self, x, fitted, residual, p, lower, upper) -> np.ndarray:
        if self.n_boot <= 0:
            return np.empty((0, 4))
        rng = np.random.default_rng(self.seed)
        n = len(x)
        blocks = int(np.ceil(n / BLOCK_WEEKS))
        starts = rng.integers(0, max(1, n - BLOCK_WEEKS + 1), size=(self.n_boot, blocks))
        index = (starts[:, :, None] + np.arange(BLOCK_WEEKS)).reshape(self.n_boot, -1)[:, :n] % n
        y_boot = fitted[np.newaxis] + residual[index]
        return _batched_fit(x, y_boot, np.clip(p, lower, upper), lower, upper, self.adstock)

    def weekly_curve(self) -> HillCurve:
        return HillCurve(self.beta_, self.alpha_, self.kappa_)

    def curve(self, weeks: float) -> HillCurve:
        """The plan-period curve over ``weeks`` weeks (module docstring)."""
        return self.weekly_curve().over_weeks(weeks)

    def boot_values(self, spend: float, weeks: float) -> np.ndarray:
        """Every bootstrap replicate's plan-period revenue at ``spend``: ``n r_b(spend / n)``."""
        b = self.boot_
        return weeks * hill(np.full(len(b), spend / weeks), b[:, 0], b[:, 1], b[:, 2])

    def boot_curves(self, weeks: float) -> list[HillCurve]:
        return [HillCurve(float(b), float(a), float(k)).over_weeks(weeks) for b, a, k, _ in self.boot_]

    def predict(self, spend, history=None) -> np.ndarray:
        """Weekly revenue of the weekly ``spend`` (with adstock carried in from ``history``)."""
        spend = np.asarray(spend, dtype=float)
        series = spend if history is None else np.concatenate([np.asarray(history, dtype=float), spend])
        carried = geometric_adstock(series, self.theta_) if self.adstock else series
        return hill(carried[len(series) - len(spend) :], self.beta_, self.alpha_, self.kappa_)


def _predict(x: np.ndarray, p: np.ndarray, adstock: bool) -> np.ndarray:
    """Scaled predictions for parameter rows ``p`` (log beta, alpha, log kappa, theta): (rows, weeks)."""
    return _model(x, p, adstock, jacobian=False)[0]


def _model(x: np.ndarray, p: np.ndarray, adstock: bool, jacobian: bool = True):
    """Predictions ``(R, T)`` and, with ``jacobian``, their derivatives ``(R, T, 4)`` in the
    parameters (log beta, alpha, log kappa, theta): with ``u = (a / kappa)^alpha``,
    ``dr/dlog beta = r``, ``dr/dalpha = beta u ln(a / kappa) / (1 + u)^2``,
    ``dr/dlog kappa = -alpha beta u / (1 + u)^2``, ``dr/dtheta = alpha beta u / (a (1 + u)^2) da/dtheta``."""
    if adstock:
        carried = geometric_adstock(x, p[:, 3])
    else:
        carried = np.broadcast_to(x, (len(p), len(x)))
    raw = carried
    carried = np.maximum(carried, 1e-12)
    beta, alpha, kappa = np.exp(p[:, 0:1]), p[:, 1:2], np.exp(p[:, 2:3])
    log_ratio = np.log(carried / kappa)
    u = np.exp(np.clip(alpha * log_ratio, -700, 700))
    r = beta * u / (1.0 + u)
    if not jacobian:
        return r, None
    core = beta * u / (1.0 + u) ** 2
    jac = np.empty(r.shape + (4,))
    jac[..., 0] = r
    jac[..., 1] = core * log_ratio
    jac[..., 2] = -alpha * core
    if adstock:
        jac[..., 3] = (alpha * core / carried) * _adstock_derivative(x, raw, p[:, 3])
    else:
        jac[..., 3] = 0.0
    return r, jac


def _least_squares(x, y, start, lower, upper, adstock):
    """One channel's fit: ``scipy.optimize.least_squares`` (trf) under bounds, analytic Jacobian."""
    from scipy.optimize import least_squares

    k = 4 if adstock else 3

    def full(q):
        return np.append(q, 0.0)[np.newaxis] if k == 3 else q[np.newaxis]

    last: dict = {}

    def evaluate(q):  # scipy asks for the residuals and the Jacobian at the same point: compute both once
        key = q.tobytes()
        if last.get("key") != key:
            r, jac = _model(x, full(q), adstock)
            last.update(key=key, residual=r[0] - y, jac=jac[0][:, :k])
        return last

    result = least_squares(
        lambda q: evaluate(q)["residual"],
        start[:k],
        jac=lambda q: evaluate(q)["jac"],
        bounds=(lower[:k], upper[:k]),
        method="trf",
    )
    if k == 3:
        result.x = np.append(result.x, 0.0)
    return result


def _batched_fit(x, y_boot, start, lower, upper, adstock, iterations: int = 25) -> np.ndarray:
    """Every bootstrap replicate's fit at once: a projected Levenberg-Marquardt over the stacked,
    independent problems (one ``(k, k)`` solve per replicate and iteration), from the fit's
    parameters, steps clipped to the same bounds as the scipy fit. Returns ``(R, 4)``."""
    k = 4 if adstock else 3
    p = np.tile(start, (len(y_boot), 1))
    damping = np.full(len(y_boot), 1e-2)
    predicted, jac = _model(x, p, adstock)
    cost = np.sum((predicted - y_boot) ** 2, axis=1)
    eye = np.eye(k)
    for _ in range(iterations):
        j = jac[..., :k]
        residual = predicted - y_boot
        jt = np.ascontiguousarray(j.transpose(0, 2, 1))
        normal = jt @ j
        gradient = (jt @ residual[..., None])[..., 0]
        diagonal = np.diagonal(normal, axis1=1, axis2=2)
        scaled = normal + damping[:, None, None] * (diagonal[:, :, None] * eye + 1e-9 * eye)
        step = -np.linalg.solve(scaled, gradient[..., None])[..., 0]
        cost_before = cost.copy()
        trial = p.copy()
        trial[:, :k] = np.clip(p[:, :k] + step, lower[:k], upper[:k])
        trial_pred, trial_jac = _model(x, trial, adstock)
        trial_cost = np.sum((trial_pred - y_boot) ** 2, axis=1)
        better = trial_cost < cost
        p[better], predicted[better], jac[better], cost[better] = (
            trial[better],
            trial_pred[better],
            trial_jac[better],
            trial_cost[better],
        )
        gain = np.where(better, (cost_before - cost) / np.maximum(cost_before, 1e-300), 0.0)
        damping = np.where(better, damping / 3.0, damping * 4.0)
        if np.all(damping > 1e6) or gain.max() < 1e-10:  # no replicate improves any more
            break
    return p
