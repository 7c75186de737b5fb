"""Pure statistics for a few seeds: paired t intervals and tests, two one-sided tests
(TOST) for equivalence, an exact test for rates, Holm's correction, a slope with its t
interval, and a permutation test of rank association within groups.

Every test comes from scipy.stats where scipy has it. Holm and TOST are written out: the
calibration calls them about a million times, where statsmodels' input handling would
dominate; tests/test_stats.py checks them against statsmodels' multipletests and ttost_paired.
Nothing here knows about the study:
inputs are arrays, outputs are numbers. NaNs in the input are dropped; a test that cannot
be computed (fewer than 2 values) returns NaN p-values and bounds, which every caller treats
as "not rejected". Values with no spread (every seed the same difference, e.g. a dead ratio
of exactly 0 for both activations in every seed) are an exact result, not a missing one:
the interval is that point and each test rejects exactly when the point lies on its
alternative's side (the limit of the t test as the spread goes to 0; docs/design.md
section 6).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats


@dataclass(frozen=True)
class TTest:
    """A one-sample (or paired: the values are differences) t analysis of a mean.

    low, high: the two-sided (1 - alpha) t interval of the mean. p_greater, p_less: one-sided
    p-values of H0 mean <= null and H0 mean >= null. NaN where n < 2; with zero spread the
    interval is the point and the p-values are 0 or 1 (the module's docstring)."""
    n: int
    mean: float
    sd: float
    low: float
    high: float
    p_two: float
    p_greater: float
    p_less: float


def _clean(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def t_test(values, null: float = 0.0, alpha: float = 0.05) -> TTest:
    """t interval of the mean of `values` and one- and two-sided p-values against `null`.
    For paired differences pass the differences (same seed, same cell). The numbers are
    those of scipy.stats.ttest_1samp (tests/test_stats.py checks it); the Student t
    distribution comes from scipy.special directly, because the calibration calls this
    function about a million times and ttest_1samp's input handling dominates its cost."""
    x = _clean(values)
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    sd = float(x.std(ddof=1)) if n > 1 else np.nan
    if n < 2:
        return TTest(n, mean, sd, np.nan, np.nan, np.nan, np.nan, np.nan)
    if np.ptp(x) == 0:  # every seed agrees exactly: the point is the result
        side = np.sign(mean - null)
        return TTest(n, mean, 0.0, mean, mean, float(side == 0), float(side <= 0), float(side >= 0))
    df, se = n - 1, sd / np.sqrt(n)
    t = (mean - null) / se
    less = float(special.stdtr(df, t))            # P(T <= t)
    greater = float(special.stdtr(df, -t))        # P(T >= t)
    half = float(special.stdtrit(df, 1 - alpha / 2)) * se
    return TTest(n, mean, sd, mean - half, mean + half, min(1.0, 2 * min(less, greater)), greater, less)


def tost(values, margin: float) -> float:
    """p-value of the two one-sided tests for equivalence: H0 |mean| >= margin. Small p means
    the mean lies within (-margin, +margin); p < alpha is the same as the (1 - 2 alpha) t
    interval lying inside the margins. NaN where the t test is undefined (n < 2)."""
    lo = t_test(values, -margin).p_greater   # H0: mean <= -margin
    hi = t_test(values, +margin).p_less      # H0: mean >= +margin
    return max(lo, hi) if not (np.isnan(lo) or np.isnan(hi)) else np.nan


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values for one family. The family size is len(pvalues):
    a planned comparison that could not be computed (NaN) stays in the family with p = 1, so
    missing data never makes the correction milder."""
    p = np.asarray(pvalues, dtype=float)
    p = np.where(np.isnan(p), 1.0, p)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def fisher(k1: int, n1: int, k2: int, n2: int, alternative: str = "two-sided") -> float:
    """Fisher's exact test of two rates, k1 of n1 against k2 of n2 (scipy.stats.fisher_exact);
    alternative 'greater' tests rate 1 > rate 2. NaN when either group is empty."""
    if n1 == 0 or n2 == 0:
        return np.nan
    return float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative=alternative).pvalue)


@dataclass(frozen=True)
class Slope:
    """Least-squares slope of y on x with its two-sided (1 - alpha) t interval (n - 2 degrees of
    freedom) and one-sided p-values for slope > 0 and slope < 0."""
    n: int
    slope: float
    low: float
    high: float
    p_greater: float
    p_less: float


def slope_test(x, y, alpha: float = 0.05) -> Slope:
    """scipy.stats.linregress, with the interval and one-sided p-values; NaN with fewer than
    3 points, fewer than 2 distinct x or a perfect fit (zero residual spread)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3 or len(np.unique(x)) < 2:
        return Slope(n, np.nan, np.nan, np.nan, np.nan, np.nan)
    fit = stats.linregress(x, y)
    if not fit.stderr > 0:
        return Slope(n, float(fit.slope), np.nan, np.nan, np.nan, np.nan)
    t = stats.t.ppf(1 - alpha / 2, n - 2)
    greater = float(stats.t.sf(fit.slope / fit.stderr, n - 2))
    return Slope(n, float(fit.slope), float(fit.slope - t * fit.stderr), float(fit.slope + t * fit.stderr),
                 greater, 1 - greater)


def _group_rank_corr(x_ranks: np.ndarray, y_ranks: np.ndarray) -> np.ndarray:
    """Pearson correlation of ranks along the last axis (Spearman's rho of the raw values)."""
    xc = x_ranks - x_ranks.mean(axis=-1, keepdims=True)
    yc = y_ranks - y_ranks.mean(axis=-1, keepdims=True)
    return (xc * yc).sum(-1) / np.sqrt((xc ** 2).sum(-1) * (yc ** 2).sum(-1))


@dataclass(frozen=True)
class Association:
    """Mean within-group Spearman rho over the groups that carry information, and one-sided
    permutation p-values (x permuted within each group) for rho < 0 and rho > 0."""
    rho: float
    groups: int
    n: int
    p_less: float
    p_greater: float


def within_group_spearman(x, y, groups, permutations: int = 1999, seed: int = 0) -> Association:
    """Does x predict y among units of the same group? The statistic is the mean over groups
    of Spearman's rho within the group; groups with fewer than 3 units or a constant x or y
    carry no information and are left out. The null distribution permutes x within each
    group, so differences between groups (here: cells and activations) cannot create an
    association. p-values count the observed statistic among the permutations."""
    x, y, g = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(groups)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y, g = x[keep], y[keep], g[keep]
    rng = np.random.default_rng(seed)
    observed, null, n = [], [], 0
    for key in dict.fromkeys(g.tolist()):
        sel = g == key
        xs, ys = x[sel], y[sel]
        if len(xs) < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
            continue
        rx, ry = stats.rankdata(xs), stats.rankdata(ys)
        observed.append(_group_rank_corr(rx, ry))
        perm = rng.permuted(np.tile(rx, (permutations, 1)), axis=1)
        null.append(_group_rank_corr(perm, ry))
        n += len(xs)
    if not observed:
        return Association(np.nan, 0, 0, np.nan, np.nan)
    rho = float(np.mean(observed))
    dist = np.mean(null, axis=0)
    eps = 1e-12  # ties of floating-point means count as "as extreme"
    p_less = (1 + np.sum(dist <= rho + eps)) / (permutations + 1)
    p_greater = (1 + np.sum(dist >= rho - eps)) / (permutations + 1)
    return Association(rho, len(observed), n, float(p_less), float(p_greater))
