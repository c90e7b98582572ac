"""Budget reallocation on demo warehouses: the planted response recovered, the advice moving
budget toward the higher planted marginal return, edge cases of the data, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.core.errors import RevLensError
from analytics.demo.builder import build_demo
from analytics.demo.truth import CHANNEL_TRUTH, planted_weekly_hill
from analytics.finance.reallocation.curves import HillCurve
from analytics.finance.reallocation.inputs import ChannelInputs
from analytics.finance.reallocation.plan import (
    SPEC_FIELDS,
    ChannelBounds,
    advise,
    analysis_period,
    fit_curves,
    reallocate,
)
from analytics.warehouse.connection import connect

RECOVERY_TOUCHPOINTS = 1_000_000
PAID = [c for c, t in CHANNEL_TRUTH.items() if t.baseline == 0]  # no unpaid volume: the Hill is the whole response


@pytest.fixture(scope="module")
def large_demo(tmp_path_factory):
    """A 1M-touchpoint demo (about 20 weekly deals per channel: enough to see the curves)."""
    path = tmp_path_factory.mktemp("budget") / "demo1m.duckdb"
    build_demo(path, seed=7, touchpoints=RECOVERY_TOUCHPOINTS)
    con = connect(path, read_only=True)
    start, end = analysis_period(con)
    result = reallocate(con, start, end)
    yield con, result
    con.close()


def test_fitted_curves_recover_the_planted_response(large_demo):
    """Tolerance: for the channels the demo gives no unpaid baseline, the planted half-saturation
    lies inside the fit's 95% bootstrap interval, and the fitted elasticity at the current spend,
    ``e(s) = alpha (1 - r(s) / beta)`` (what the reallocation turns on), is within 0.2 of the
    planted ``kappa / (kappa + s)``."""
    _, result = large_demo
    for i, cc in enumerate(result.curves):
        if cc.channel not in PAID:
            continue
        _, kappa = planted_weekly_hill(cc.channel, RECOVERY_TOUCHPOINTS)
        low, high = cc.fit.intervals_["kappa"]
        assert low <= kappa <= high, (cc.channel, low, kappa, high)
        s = result.current[i]
        fitted = cc.curve.alpha * (1 - float(cc.curve.value(s)) / cc.curve.beta)
        planted = kappa * result.plan_weeks / (kappa * result.plan_weeks + s)
        assert abs(fitted - planted) <= 0.2, (cc.channel, fitted, planted)


def test_advice_moves_budget_toward_the_higher_planted_marginal_return(large_demo):
    _, result = large_demo
    planted = result.backtest["planted"]
    marginal = {
        ch: float(HillCurve(**p).marginal(result.current[i]))
        for i, ch in enumerate(result.channels)
        if (p := planted["curves"].get(ch))
    }
    change = dict(zip(result.channels, result.optimized - result.current))
    raised = [marginal[ch] for ch in marginal if change[ch] > 0]
    cut = [marginal[ch] for ch in marginal if change[ch] < 0]
    assert raised and cut
    assert np.mean(raised) > np.mean(cut)
    assert planted["captured_share"] >= 0.8  # of the lift the planted optimum would give
    assert planted["regret_percent"] <= 1.0
    assert result.backtest["mape"] <= 0.25


def test_output_has_the_spec_fields_and_recomputes_from_itself(large_demo):
    _, result = large_demo
    out = json.loads(json.dumps(result.to_dict()))
    assert list(out) == list(SPEC_FIELDS)
    assert set(out["expected_improvement"]) >= {"value", "low", "high"}
    assert (
        out["expected_improvement"]["low"]
        <= out["expected_improvement"]["value"]
        <= out["expected_improvement"]["high"]
    )
    assert round(sum(out["optimized_allocation"].values()), 2) == pytest.approx(result.total_budget, abs=0.005)

    def expected(allocation):  # from the output alone
        total = 0.0
        for ch, spend in allocation.items():
            c = out["curves"][ch]
            if c["beta"] is not None:
                total += c["beta"] * spend ** c["alpha"] / (c["kappa"] ** c["alpha"] + spend ** c["alpha"])
        return total

    gain = expected(out["optimized_allocation"]) - expected(out["current_allocation"])
    assert gain == pytest.approx(out["expected_improvement"]["value"], rel=1e-6)
    assert len(out["implementation_timeline"]) == 3 and out["implementation_timeline"][-1]["weeks"] == [5, 6]
    assert set(out["marginal_roi"]) == set(out["current_allocation"])


def test_the_weekly_credit_adds_up_to_the_window(demo_db):
    from analytics.attribution.engine import attribute

    con = connect(demo_db, read_only=True)
    window = {"close_from": date(2026, 1, 1), "close_to": date(2026, 6, 30)}
    for models in (["linear", "time_decay"], ["markov"]):
        weekly = attribute(con, models, by_week=True, **window)
        whole = attribute(con, models, **window)
        summed = weekly.group_by("channel", "model").agg(pl.col("attributed_revenue").sum())
        # a key without credit (the unattributed row when every deal has a touch) has no weeks
        joined = whole.join(summed, on=["channel", "model"], how="left", suffix="_weekly").fill_null(0.0)
        assert np.allclose(joined["attributed_revenue"], joined["attributed_revenue_weekly"], rtol=1e-9, atol=1e-6)
        assert all(d.weekday() == 0 for d in weekly["week"])  # Mondays
    con.close()


def test_a_single_week_of_data_keeps_every_channel_where_it_is(demo_db):
    con = connect(demo_db, read_only=True)
    monday = date(2026, 6, 1)
    result = reallocate(con, monday, monday + timedelta(days=6), n_boot=0)
    con.close()
    assert set(result.allocation.status) == {"fixed"}
    assert result.optimized_cents == result.current_cents
    assert all("few_weeks" in flags for ch, flags in result.risk.items() if result.current[result.channels.index(ch)])


def _synthetic_inputs() -> ChannelInputs:
    rng = np.random.default_rng(5)
    weeks = [date(2025, 1, 6) + timedelta(weeks=k) for k in range(60)]
    rows = []
    for channel, beta, kappa in (("alpha_ads", 80_000.0, 6_000.0), ("beta_ads", 60_000.0, 20_000.0)):
        spend = rng.uniform(3_000, 15_000, len(weeks))
        revenue = hill(spend, beta, 1.0, kappa) * rng.lognormal(0, 0.05, len(weeks))
        rows += [(channel, w, s, r) for w, s, r in zip(weeks, spend, revenue)]
    rows += [("no_spend", w, 0.0, 500.0) for w in weeks]  # no spend history
    rows += [("one_week", w, 9_000.0 if k == 59 else 0.0, 0.0) for k, w in enumerate(weeks)]  # a single week
    rows += [("broken", w, 5_000.0, 0.0) for w in weeks]  # spend but no credit: its fit fails
    weekly = pl.DataFrame(rows, schema=["channel", "week", "spend", "attributed_revenue"], orient="row").with_columns(
        pl.lit(1.0).alias("attributed_conversions"), pl.lit(1.0).alias("completeness"), pl.lit(True).alias("mature")
    )
    channels = sorted(set(weekly["channel"]))
    return ChannelInputs(
        weeks, weekly, channels, {}, {}, {}, {}, dict.fromkeys(channels, 3.0), {}, "linear", 0.75, weeks[-1]
    )


from analytics.finance.reallocation.curves import hill  # noqa: E402


def test_channels_without_a_usable_curve_keep_their_spend_and_never_stop_the_others():
    inputs = _synthetic_inputs()
    curves = fit_curves(inputs, 13, n_boot=20)
    result = advise(inputs, curves)
    by = dict(zip(result.channels, range(len(result.channels))))
    for channel, flag in (("no_spend", "no_history"), ("one_week", "few_weeks"), ("broken", "fit_failed")):
        i = by[channel]
        assert result.optimized_cents[i] == result.current_cents[i]
        assert flag in result.risk[channel]
    assert result.optimized_cents[by["alpha_ads"]] != result.current_cents[by["alpha_ads"]]
    assert sum(result.optimized_cents) == round(result.total_budget * 100)


def test_locks_and_bounds_from_the_user():
    inputs = _synthetic_inputs()
    curves = fit_curves(inputs, 13, n_boot=0)
    locked = advise(inputs, curves, locks=["alpha_ads"])
    i = locked.channels.index("alpha_ads")
    assert locked.optimized_cents[i] == locked.current_cents[i] and "locked" in locked.risk["alpha_ads"]
    with pytest.raises(RevLensError, match="Unknown channel nope in --lock"):
        advise(inputs, curves, locks=["nope"])
    with pytest.raises(RevLensError, match="contradict each other"):
        advise(inputs, curves, bounds={"alpha_ads": ChannelBounds(minimum=9e9, maximum=1.0)})
    minimum = float(sum(locked.current)) * 10
    with pytest.raises(RevLensError, match="below the sum of the channels' minimums"):
        advise(inputs, curves, bounds={"alpha_ads": ChannelBounds(minimum=minimum)})
    ltv = advise(inputs, curves, objective="ltv")
    assert ltv.optimized_value == pytest.approx(3.0 * advise(inputs, curves).optimized_value, rel=1e-6)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "analytics", "reallocate", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_json_csv_and_bad_input(demo_db, tmp_path):
    done = _cli("--db", demo_db, "--format", "json", "--max-shift", "0.2", "--lock", "email")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out) == list(SPEC_FIELDS)
    assert out["optimized_allocation"]["email"] == out["current_allocation"]["email"]
    assert round(sum(out["optimized_allocation"].values()), 2) == round(sum(out["current_allocation"].values()), 2)
    csv = _cli("--db", demo_db, "--format", "csv", "--total-budget", "90000", "--objective", "ltv")
    assert csv.returncode == 0, csv.stderr
    table = pl.read_csv(csv.stdout.encode())
    assert table["optimized_spend"].sum() == pytest.approx(90_000.0, abs=0.01)
    curves = tmp_path / "curves.csv"
    curves.write_text("channel,beta,alpha,kappa\nemail,500000,0.9,20000\n")
    mine = json.loads(_cli("--db", demo_db, "--curves", str(curves)).stdout)
    assert mine["curves"]["email"]["source"] == "user" and mine["curves"]["email"]["kappa"] == pytest.approx(260000)
    for args, message in (
        (["--total-budget", "lots"], "--total-budget 'lots' is not a number"),
        (["--total-budget", "-5"], "--total-budget '-5' is negative"),
        (["--lock", "email,telepathy"], "Unknown channel telepathy in --lock"),
        (["--total-budget", "10"], "below the sum of the channels' minimums"),
        (["--curves", str(tmp_path / "missing.csv")], "does not exist"),
    ):
        bad = _cli("--db", demo_db, *args)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
        assert message in bad.stderr


def test_an_uploaded_curves_file_replaces_the_fitted_curve(demo_db):
    from analytics.finance.reallocation.plan import prepare

    con = connect(demo_db, read_only=True)
    start, end = analysis_period(con)
    text = '{"period_weeks": 1, "curves": {"webinar": {"beta": 40000, "alpha": 0.9, "kappa": 3000}}}'
    prepared = prepare(con, start, end, curves_text=text, n_boot=0)
    with pytest.raises(RevLensError, match="The uploaded curves file, curve 1"):
        prepare(con, start, end, curves_text='[{"channel": "webinar", "beta": "x"}]', n_boot=0)
    con.close()
    webinar = next(cc for cc in prepared.curves if cc.channel == "webinar")
    assert webinar.source == "user" and webinar.curve.params() == pytest.approx(
        {"beta": 40000 * 13, "alpha": 0.9, "kappa": 3000 * 13}
    )
    result = advise(prepared.inputs, prepared.curves)
    assert result.to_dict()["curves"]["webinar"]["source"] == "user"
