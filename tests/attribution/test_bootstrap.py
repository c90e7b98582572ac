"""The Poisson bootstrap made in SQL (analytics/attribution/bootstrap.py): the draws, exactness given
the weights, and agreement in distribution with the earlier multinomial resampling."""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics.attribution import chains
from analytics.attribution.bootstrap import DRAWS, bootstrap, poisson_weights, seed_key
from analytics.attribution.composed import named
from analytics.attribution.engine import attribute
from analytics.attribution.journeys import open_journeys
from analytics.attribution.models import MODELS, split
from analytics.attribution.window import JourneyWindow
from analytics.warehouse.runner import run


def test_the_sql_draws_are_the_documented_scheme(demo):
    with open_journeys(demo, JourneyWindow()) as journeys:
        params = {**journeys.params, "n_boot": 25, "seed_key": seed_key(3)}
        drawn = run(
            demo, named("test.draws", journeys.sql("with {journeys}," + DRAWS + " select * from draws")), params
        )
        ids = run(demo, named("test.ids", journeys.sql("with {journeys} select journey_id from conversions")), params)
    ids = np.sort(ids["journey_id"].to_numpy())
    weights = poisson_weights(ids, 25, seed=3)
    j, b = np.nonzero(weights)
    expected = pl.DataFrame({"journey_id": ids[j], "b": b, "w": weights[j, b].astype(np.int64)})
    got = drawn.select(pl.col("journey_id"), pl.col("b").cast(pl.Int64), pl.col("w").cast(pl.Int64))
    assert got.sort("journey_id", "b").equals(
        expected.cast({"journey_id": got["journey_id"].dtype}).sort("journey_id", "b")
    )


def test_the_weights_are_independent_poisson_ones():
    weights = poisson_weights(np.arange(1, 200_001) * 7919, 4, seed=11)
    assert abs(weights.mean() - 1) < 0.01 and abs(weights.var() - 1) < 0.02
    assert abs((weights == 0).mean() - np.exp(-1)) < 0.005
    assert abs((weights == 2).mean() - np.exp(-1) / 2) < 0.005
    assert np.abs(np.corrcoef(weights.T) - np.eye(4)).max() < 0.01  # replicates independent
    assert not np.array_equal(poisson_weights(np.arange(100), 3, seed=1), poisson_weights(np.arange(100), 3, seed=2))


def _fixed_draws(values_sql: str) -> str:
    return f"replicates as (select 0 as b), draws as ({values_sql})"


def test_with_every_weight_one_each_replicate_is_the_point_estimate(demo):
    window = JourneyWindow()
    ones = _fixed_draws(
        "select v.journey_id, r.b, 1 as w from conversions as v cross join (values (0), (1), (2)) as r(b)"
    )
    with open_journeys(demo, window) as journeys:
        chains.prepare(journeys, split(MODELS)[1], 1)
        intervals = bootstrap(journeys, MODELS, 3, 0, 7.0, 1, draws=ones)
    point = attribute(demo, MODELS, window)
    joined = point.join(intervals.rename({"key": "channel"}), on=["channel", "model"], how="full", coalesce=True)
    assert joined.height == point.height
    for low, high, value in (
        ("conversions_low", "conversions_high", "attributed_conversions"),
        ("revenue_low", "revenue_high", "attributed_revenue"),
    ):
        # a journey's weight is rounded to 2^-40 before it is multiplied by its revenue
        for bound in (low, high):
            error = np.abs(joined[bound].to_numpy() - joined[value].to_numpy())
            assert error.max() <= 1e-10 * np.abs(joined[value].to_numpy()).max(), (bound, error.max())


def test_poisson_intervals_agree_with_the_multinomial_ones(demo):
    """Same distribution: the earlier scheme's multinomial counts (numpy) through the same SQL give
    intervals whose widths agree with the Poisson ones within the replicates' Monte-Carlo error."""
    n_boot, models = 300, ["linear", "markov"]
    window = JourneyWindow()
    with open_journeys(demo, window) as journeys:
        chains.prepare(journeys, split(models)[1], 1)
        ids = run(
            demo, named("test.ids", journeys.sql("with {journeys} select journey_id from conversions")), journeys.params
        )
        ids = ids["journey_id"].to_numpy()
        rng = np.random.default_rng(0)
        counts = rng.multinomial(len(ids), np.full(len(ids), 1 / len(ids)), size=n_boot).T  # journeys x replicates
        j, b = np.nonzero(counts)
        demo.execute("create or replace temp table test_multinomial (journey_id bigint, b bigint, w bigint)")
        demo.executemany(
            "insert into test_multinomial values (?, ?, ?)",
            list(zip(ids[j].tolist(), b.tolist(), counts[j, b].tolist())),
        )
        multinomial = bootstrap(
            journeys, models, n_boot, 0, 7.0, 1, draws=_fixed_draws("select * from test_multinomial")
        )
        poisson = bootstrap(journeys, models, n_boot, 0, 7.0, 1)
    demo.execute("drop table test_multinomial")
    both = multinomial.join(poisson, on=["key", "model"], suffix="_poisson")
    width = (both["revenue_high"] - both["revenue_low"]).to_numpy()
    width_poisson = (both["revenue_high_poisson"] - both["revenue_low_poisson"]).to_numpy()
    big = width > 0.05 * width.max()
    ratio = width_poisson[big] / width[big]
    assert big.sum() >= 5
    assert 0.8 < np.median(ratio) < 1.25 and ratio.min() > 0.6 and ratio.max() < 1.6, ratio
    middle = (both["revenue_high"] + both["revenue_low"]).to_numpy() / 2
    middle_poisson = (both["revenue_high_poisson"] + both["revenue_low_poisson"]).to_numpy() / 2
    assert np.all(np.abs(middle_poisson[big] - middle[big]) < 0.5 * width[big])
