"""Gaps over ReLU at two budgets, and whether they shrink or grow, against hand-made tables."""
import numpy as np
import pandas as pd
import pytest

from rectifiers.analysis.scaling import gap_changes, gaps, trend


def table(acc: dict) -> pd.DataFrame:
    """{(scale, cell, train_size, epochs, act): [acc per seed]} -> a tidy table."""
    rows = [dict(scale=s, cell=c, train_size=n, epochs=e, act=a, seed=i, acc=x, model="plain")
            for (s, c, n, e, a), xs in acc.items() for i, x in enumerate(xs)]
    return pd.DataFrame(rows)


def test_gaps_are_paired_by_seed_and_carry_the_budget():
    t = table({("stress", "baseline", 5000, 5, "relu"): [0.30, 0.32, 0.34],
               ("stress", "baseline", 5000, 5, "prelu"): [0.35, 0.36, np.nan],  # seed 2 missing: no pair
               ("long", "depth=8", 10000, 10, "relu"): [0.50, 0.52],
               ("long", "depth=8", 10000, 10, "prelu"): [0.51, 0.52]})
    g = gaps(t)
    small = g[g.budget == 25_000]
    assert list(small.seed) == [0, 1] and small.gap.to_numpy() == pytest.approx([0.05, 0.04])
    assert g[g.budget == 100_000].gap.to_numpy() == pytest.approx([0.01, 0.0])
    assert set(g.network) == {"plain CNN, depth 8"}


def test_a_gap_that_closes_shrinks_and_one_that_opens_grows():
    assert trend(np.array([0.05, 0.04, 0.06]), np.array([0.0, 0.01, -0.01]), 0.001, 0.05) == "shrinks"
    assert trend(np.array([0.01, 0.0, 0.02]), np.array([0.05, 0.06, 0.07]), 0.001, 0.05) == "grows"
    assert trend(np.array([-0.05, -0.04]), np.array([-0.10, -0.09]), 0.001, 0.05) == "grows"
    assert trend(np.array([0.05, 0.04]), np.array([0.0, 0.01]), 0.2, 0.05) == "no detectable change"


def test_gap_changes_use_welch_and_holm():
    g = pd.DataFrame(dict(network="n", act="prelu", budget=[1] * 3 + [4] * 3, gap=[0.05, 0.04, 0.06, 0.0, 0.01, -0.01],
                          seed=[0, 1, 2] * 2, scale="x"))
    r = gap_changes(g).iloc[0]
    # by hand: means 0.05 and 0.0, both variances 1e-4, se = sqrt(2e-4/3), t = -6.12 on 4 df
    assert r.change == pytest.approx(-0.05)
    se = np.sqrt(2e-4 / 3)
    assert r.low == pytest.approx(-0.05 - 2.776445 * se, abs=1e-5)
    assert r.p == pytest.approx(0.003591, abs=2e-5) and r.p_adj == r.p  # a family of one
    assert r.trend == "shrinks"
