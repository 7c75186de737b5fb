"""src/rectifiers/analysis/stats.py against values computed by hand.

With 2 degrees of freedom Student's t has a closed-form distribution function,
F(t) = 1/2 + t / (2 sqrt(2 + t^2)), and quantile t_{0.975, 2} = 4.302653, so the expected
numbers below are worked out without scipy."""
import math

import numpy as np
import pytest

from rectifiers.analysis import stats

T975_DF2 = 4.302653


def cdf_df2(t):
    return 0.5 + t / (2 * math.sqrt(2 + t * t))


def test_t_test_of_three_values_matches_the_closed_form():
    r = stats.t_test([1.0, 2.0, 3.0])  # mean 2, sd 1, se 1/sqrt(3), t = 2 sqrt(3)
    se = 1 / math.sqrt(3)
    assert (r.n, r.mean, r.sd) == (3, 2.0, 1.0)
    assert r.low == pytest.approx(2 - T975_DF2 * se, abs=1e-5)
    assert r.high == pytest.approx(2 + T975_DF2 * se, abs=1e-5)
    t = 2 / se
    assert r.p_greater == pytest.approx(1 - cdf_df2(t), abs=1e-9)
    assert r.p_less == pytest.approx(cdf_df2(t), abs=1e-9)
    assert r.p_two == pytest.approx(2 * (1 - cdf_df2(t)), abs=1e-9)


def test_t_test_against_a_null_and_with_nans():
    r = stats.t_test([0.5, 0.6, 0.7, np.nan], null=0.3)  # the NaN is dropped
    t = 0.3 / (0.1 / math.sqrt(3))
    assert r.n == 3 and r.p_greater == pytest.approx(1 - cdf_df2(t), abs=1e-9)


def test_t_test_agrees_with_scipy_ttest_1samp():
    from scipy import stats as st
    x = np.random.default_rng(3).normal(0.02, 0.03, size=5)
    r = stats.t_test(x, null=0.01, alpha=0.1)
    ref = st.ttest_1samp(x, 0.01)
    ci = ref.confidence_interval(0.9)
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert r.p_two == pytest.approx(ref.pvalue, rel=1e-10)
    assert r.p_greater == pytest.approx(st.ttest_1samp(x, 0.01, alternative="greater").pvalue, rel=1e-10)
    assert r.p_less == pytest.approx(st.ttest_1samp(x, 0.01, alternative="less").pvalue, rel=1e-10)


@pytest.mark.parametrize("values", [[], [0.4]])
def test_t_test_decides_nothing_from_one_run(values):
    r = stats.t_test(values)
    assert np.isnan(r.low) and np.isnan(r.high) and np.isnan(r.p_greater) and np.isnan(r.p_two)


def test_identical_differences_are_an_exact_result():
    # every seed the same difference: the interval is that point, and each test rejects
    # exactly when the point is on its alternative's side (docs/design.md section 6)
    r = stats.t_test([0.2, 0.2, 0.2], null=0.1)
    assert r.low == r.high == pytest.approx(0.2) and r.sd == 0.0
    assert (r.p_two, r.p_greater, r.p_less) == (0.0, 0.0, 1.0)
    at_null = stats.t_test([0.0, 0.0], null=0.0)
    assert (at_null.p_two, at_null.p_greater, at_null.p_less) == (1.0, 1.0, 1.0)
    # a dead ratio of exactly 0 in every seed of both activations: equal within any margin
    assert stats.tost([0.0, 0.0, 0.0, 0.0, 0.0], 0.05) == 0.0
    assert stats.tost([0.05, 0.05, 0.05], 0.05) == 1.0  # on the margin is not within it


def test_tost_is_the_larger_one_sided_p():
    x = [-0.01, 0.0, 0.01]  # mean 0, sd 0.01, se 0.01/sqrt(3)
    se = 0.01 / math.sqrt(3)
    # both one-sided tests have t = margin / se; p = 1 - F(t)
    assert stats.tost(x, 0.02) == pytest.approx(1 - cdf_df2(0.02 / se), abs=1e-9)
    # shifted by +0.01: the upper test is the weaker one, t = 0.01 / se
    assert stats.tost(np.add(x, 0.01), 0.02) == pytest.approx(1 - cdf_df2(0.01 / se), abs=1e-9)
    assert np.isnan(stats.tost([0.1], 0.02))


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, 2*0.03, max(1*0.04, previous) = 0.03, 0.06, 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # a planned comparison without data stays in the family as p = 1
    assert stats.holm([0.01, np.nan]) == pytest.approx([0.02, 1.0])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert len(stats.holm([])) == 0


def test_fisher_exact_by_hand():
    # 3 of 3 against 0 of 3: the one extreme table of C(6,3) = 20 with the same margins
    assert stats.fisher(3, 3, 0, 3, "greater") == pytest.approx(1 / 20)
    assert stats.fisher(3, 3, 0, 3) == pytest.approx(2 / 20)
    assert np.isnan(stats.fisher(0, 0, 1, 3))


def test_slope_by_hand():
    # fitted 1 at x=0 and 2 at x=1; residuals -1, 1, -1, 1: s^2 = 4/2, Sxx = 1, se = sqrt(2)
    s = stats.slope_test([0, 0, 1, 1], [0, 2, 1, 3])
    assert s.slope == pytest.approx(1.0)
    assert s.low == pytest.approx(1 - T975_DF2 * math.sqrt(2), abs=1e-5)
    assert s.high == pytest.approx(1 + T975_DF2 * math.sqrt(2), abs=1e-5)
    assert s.p_greater == pytest.approx(1 - cdf_df2(1 / math.sqrt(2)), abs=1e-9)
    assert np.isnan(stats.slope_test([8, 8], [0.1, 0.2]).slope)       # too few points
    assert np.isnan(stats.slope_test([8, 8, 8], [0.1, 0.2, 0.3]).slope)  # one depth only


def test_within_group_spearman_permutes_within_groups_only():
    # two groups of three, each perfectly decreasing: rho = -1. Within-group permutations of
    # 3 ranks give 6 x 6 equally likely outcomes, and only 1 reaches a mean of -1.
    x = [1, 2, 3, 10, 20, 30]
    y = [3, 2, 1, 0.3, 0.2, 0.1]
    g = ["a", "a", "a", "b", "b", "b"]
    r = stats.within_group_spearman(x, y, g, permutations=4999, seed=1)
    assert r.rho == pytest.approx(-1.0) and r.groups == 2 and r.n == 6
    assert r.p_less == pytest.approx(1 / 36, abs=0.01)
    assert r.p_greater == pytest.approx(1.0, abs=1e-9)
    # a group level shift alone (b higher in both x and y) is no association within groups
    flat = stats.within_group_spearman([1, 2, 3, 10, 20, 30], [1, 3, 2, 11, 13, 12], g, permutations=999)
    assert flat.rho == pytest.approx(0.5 * (0.5 + 0.5))
    # a constant group carries no information and is left out
    one = stats.within_group_spearman([0, 0, 0, 1, 2, 3], [1, 2, 3, 3, 2, 1], g, permutations=99)
    assert one.groups == 1 and one.rho == pytest.approx(-1.0)
    assert np.isnan(stats.within_group_spearman([0, 0], [1, 2], ["a", "a"]).rho)


def test_over_seeds_cuts_a_fractions_interval_to_0_1_by_hand():
    """Dead ratios 0, 0, 0, 0.3: mean 0.075, sd 0.15, t(0.975, 3) = 3.1824; the t interval
    0.075 -/+ 3.1824 * 0.15 / 2 = [-0.1637, 0.3137] is cut to [0, 0.3137]. One run: no interval."""
    import pandas as pd

    from rectifiers.analysis.results import over_seeds
    df = pd.DataFrame({"cell": ["a"] * 4 + ["b"], "dead": [0, 0, 0, 0.3, 0.5]})
    a, b = over_seeds(df, "dead", ["cell"]).itertuples()
    assert (a.mean, a.low, a.high, a.n) == (pytest.approx(0.075), 0.0, pytest.approx(0.31368, abs=1e-4), 4)
    assert b.mean == 0.5 and math.isnan(b.low) and math.isnan(b.high)


def test_holm_and_tost_agree_with_statsmodels():
    # kept by hand because the calibration calls them about a million times (statsmodels'
    # input handling would dominate) and for the NaN rule above; statsmodels is the reference
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.weightstats import ttost_paired
    rng = np.random.default_rng(0)
    for m in (1, 2, 5, 9):
        p = rng.uniform(0, 0.2, m)
        assert stats.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)
    for n, shift, margin in ((3, 0.0, 0.02), (10, 0.01, 0.02), (10, -0.03, 0.01), (5, 0.0, 0.5)):
        a = rng.normal(0.5, 0.02, n)
        b = a - shift - rng.normal(0, 0.01, n)
        assert stats.tost(a - b, margin) == pytest.approx(ttost_paired(a, b, -margin, margin)[0], abs=1e-12)
