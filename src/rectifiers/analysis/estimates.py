"""Estimation first: how often each activation trains, how well, and by how much it beats
ReLU, each with an interval, per (scale, cell, activation) of the tidy table
(rectifiers.analysis.tidy) and aggregated over the cells of a scale. Descriptive: the claims
are decided by their rules (rectifiers.analysis.claims), not here.

- Shares trained (a run trained: neither collapsed nor diverged) with exact Clopper-Pearson
  intervals; the mean accuracy of the runs that trained; the median and the interquartile
  mean (IQM, scipy.stats.trim_mean at 0.25) of all runs, a diverged run at chance.
- Against ReLU, paired by seed in the same cell: the probability of improvement
  P(act > ReLU) (a tie counts 1/2) and the mean difference, each with a percentile
  bootstrap interval over seeds.
- Over a scale's cells: IQM, probability of improvement, mean difference and performance
  profiles (the share of runs above tau), with stratified bootstrap intervals: seeds are
  resampled within each cell, the same seeds for an activation and ReLU.

Every interval is 95% and unadjusted for the many comparisons. Every bootstrap draws RESAMPLES
resamples from a generator seeded with SEED afresh, so every output is the same on a rerun.
Failed runs (no outcome) are missing and left out. Why not rliable: docs/design.md section 6.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from rectifiers import activations
from rectifiers.analysis import results, tidy
from rectifiers.analysis.rules import Cell

RESAMPLES = 10_000   # bootstrap resamples of every interval
SEED = 0             # the generator seed of every bootstrap
LEVEL = 0.95         # of every interval, unadjusted
SCALE_ORDER = ("stress", "long", "trained")  # the scales in table order
HEADING_BY_SCALE = {"stress": "Stress grid", "long": "Long plain runs", "trained": "Trained ResNet"}  # their headings


# --- the statistics, on arrays ---------------------------------------------------------

def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a share k/n (scipy.stats.binomtest); NaN if n = 0."""
    if n == 0:
        return np.nan, np.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def iqm(x, axis: int = -1):
    """Interquartile mean: the mean of the middle half (scipy.stats.trim_mean, 0.25 cut at each end)."""
    return stats.trim_mean(np.asarray(x, dtype=float), 0.25, axis=axis)


def improvement(d):
    """Per pair, 1 where the activation beat ReLU (d = act - ReLU > 0), 1/2 for a tie, 0 otherwise.
    For floats, d == 0 exactly when the two values are equal."""
    d = np.asarray(d, dtype=float)
    return (d > 0) + 0.5 * (d == 0)


def percentile_interval(draws, level: float = LEVEL) -> tuple:
    """The percentile interval of bootstrap draws along axis 0."""
    low, high = np.percentile(draws, [50 * (1 - level), 50 * (1 + level)], axis=0)
    return low, high


def bootstrap_mean(values, reps: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> tuple[float, float, float]:
    """The mean of `values` (one per seed) and its percentile bootstrap interval over seeds
    (unadjusted); no interval (NaN) with fewer than 2 values: one value alone has no spread."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return np.nan, np.nan, np.nan
    if len(x) < 2:
        return float(x.mean()), np.nan, np.nan
    draws = x[np.random.default_rng(seed).integers(0, len(x), size=(reps, len(x)))].mean(axis=1)
    low, high = percentile_interval(draws, level)
    return float(x.mean()), float(low), float(high)


def stratified_bootstrap(cells: list, statistic: Callable, reps: int = RESAMPLES, seed: int = SEED,
                         level: float = LEVEL) -> tuple:
    """A statistic over several cells and its stratified percentile bootstrap interval
    (unadjusted): each resample draws, within every cell, as many seeds as it has, with
    replacement. `cells`: one 1-D array per cell (a value per seed). `statistic` maps a list
    of arrays shaped (..., n_cell) to an array shaped (...) or (..., k). Returns (point, low,
    high), each a float or a length-k array."""
    cells = [np.asarray(c, dtype=float) for c in cells if len(c)]
    if not cells:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    point = np.asarray(statistic([c[None] for c in cells]))[0]
    draws = np.asarray(statistic([c[rng.integers(0, len(c), size=(reps, len(c)))] for c in cells]))
    low, high = percentile_interval(draws, level)
    return point, low, high


def pooled_iqm(cells: list):
    """IQM of every run of every cell together (the statistic of stratified_bootstrap)."""
    return iqm(np.concatenate(cells, axis=-1))


def mean_of_cells(per_run: Callable) -> Callable:
    """A statistic of stratified_bootstrap: the mean over cells (each cell weighs the same) of
    the mean over a cell's seeds of per_run(values); per_run may add a last axis (after the
    seeds' axis, which is the last axis of a cell's values)."""
    def statistic(cells: list):
        return np.mean([per_run(c).mean(axis=c.ndim - 1) for c in cells], axis=0)
    return statistic


def above(taus) -> Callable:
    """Per run, whether its accuracy is above each tau (a last axis of len(taus))."""
    taus = np.asarray(taus, dtype=float)
    return lambda x: (x[..., None] > taus).astype(float)


# --- the tidy table --------------------------------------------------------------------

def outcome_rows(t: pd.DataFrame) -> pd.DataFrame:
    """The runs of the three scales with an outcome (a failed run is missing), with `trained`
    (neither collapsed nor diverged; a diverged run has collapsed, at chance)."""
    r = t[t.scale.isin(SCALE_ORDER) & t.acc.notna()].copy()
    r["trained"] = ~(r.collapsed.astype(bool) | r.diverged.astype(bool))
    return r


def regimes(t: pd.DataFrame, study: dict) -> list[dict]:
    """Every (scale, cell) of the tidy table in table order, with a label: the stress grid in
    study.json's order ('lr 0.1', 'ResNet-20'), the long plain runs by depth ('depth 8'), the
    trained ResNet ('ResNet-20')."""
    present = set(zip(t.scale, t.cell))
    out = [{"scale": "stress", "cell": c.key, "label": c.label} for c in results.cells(study)]
    long_ = sorted((Cell.parse(c, "long") for s, c in present if s == "long"), key=lambda c: c.level)
    out += [{"scale": "long", "cell": c.key, "label": c.label} for c in long_]
    out += [{"scale": "trained", "cell": c, "label": c.replace("resnet", "ResNet-")}
            for c in sorted({c for s, c in present if s == "trained"})]
    return [r for r in out if (r["scale"], r["cell"]) in present]


def per_activation(t: pd.DataFrame) -> pd.DataFrame:
    """Per (scale, cell, act): n runs, n_trained, n_diverged, share trained with its exact
    Clopper-Pearson 95% interval (share_low, share_high; unadjusted), acc_trained (mean
    accuracy of the runs that trained; NaN if none did), mean, median and iqm of all runs."""
    rows = []
    for (scale, cell, act), g in outcome_rows(t).groupby(["scale", "cell", "act"], sort=False):
        k, n = int(g.trained.sum()), len(g)
        low, high = clopper_pearson(k, n)
        rows.append(dict(scale=scale, cell=cell, act=act, n=n, n_trained=k, n_diverged=int(g.diverged.sum()),
                         share=k / n, share_low=low, share_high=high,
                         acc_trained=float(g.acc[g.trained].mean()) if k else np.nan,
                         mean=float(g.acc.mean()), median=float(g.acc.median()), iqm=float(iqm(g.acc))))
    return pd.DataFrame(rows, columns=["scale", "cell", "act", "n", "n_trained", "n_diverged", "share", "share_low",
                                       "share_high", "acc_trained", "mean", "median", "iqm"])


def versus_relu(t: pd.DataFrame, reps: int = RESAMPLES, seed: int = SEED) -> pd.DataFrame:
    """Per (scale, cell, act other than ReLU), paired by seed with ReLU in the same cell:
    n_pairs, poi (the probability of improvement P(act > ReLU), a tie 1/2) and gain (the mean
    difference in accuracy, a fraction), each with its 95% percentile bootstrap interval over
    seeds (unadjusted; none with fewer than 2 pairs), and gain_median (the median difference)."""
    r, rows = outcome_rows(t), []
    for scale in SCALE_ORDER:
        values = tidy.Values(r, scale)
        for cell, act in dict.fromkeys((c, a) for c, a in values.v if a != activations.REFERENCE):
            d = values.diff(cell, act, activations.REFERENCE)
            poi, gain = bootstrap_mean(improvement(d), reps, seed), bootstrap_mean(d, reps, seed)
            rows.append(dict(scale=scale, cell=cell, act=act, n_pairs=len(d), poi=poi[0], poi_low=poi[1],
                             poi_high=poi[2], gain=gain[0], gain_low=gain[1], gain_high=gain[2],
                             gain_median=float(np.median(d)) if len(d) else np.nan))
    return pd.DataFrame(rows, columns=["scale", "cell", "act", "n_pairs", "poi", "poi_low", "poi_high", "gain",
                                       "gain_low", "gain_high", "gain_median"])


def _cells(r: pd.DataFrame, scale: str, act: str, paired: bool) -> list[np.ndarray]:
    """The activation's accuracies (or, paired, its differences from ReLU), one array per cell."""
    values = tidy.Values(r, scale)
    cells = dict.fromkeys(c for c, _ in values.v)
    if paired:
        return [values.diff(c, act, activations.REFERENCE) for c in cells]
    return [np.array([v for _, v in sorted(values.v.get((c, act), {}).items())]) for c in cells]


def aggregates(t: pd.DataFrame, scale: str = "stress", reps: int = RESAMPLES, seed: int = SEED) -> pd.DataFrame:
    """Per activation, over the cells of `scale`: n_cells, n_runs, iqm (of all its runs
    together), poi (mean over cells of the probability of improvement over ReLU, paired by
    seed) and gain (mean over cells of the mean difference from ReLU), each with its 95%
    stratified bootstrap interval (seeds resampled within each cell; unadjusted). ReLU's
    poi and gain are NaN."""
    r, rows = outcome_rows(t), []
    for act in activations.ordered(r[r.scale == scale].act.unique()):
        own = _cells(r, scale, act, paired=False)
        row = dict(act=act, n_cells=sum(len(c) > 0 for c in own), n_runs=sum(len(c) for c in own))
        row.update(zip(("iqm", "iqm_low", "iqm_high"), map(float, stratified_bootstrap(own, pooled_iqm, reps, seed))))
        for name, per_run in (("poi", improvement), ("gain", lambda d: d)):
            if act == activations.REFERENCE:
                point = (np.nan,) * 3
            else:
                point = stratified_bootstrap(_cells(r, scale, act, True), mean_of_cells(per_run), reps, seed)
            row.update(zip((name, f"{name}_low", f"{name}_high"), map(float, point)))
        rows.append(row)
    cols = ["act", "n_cells", "n_runs"] + [f"{m}{b}" for m in ("iqm", "poi", "gain") for b in ("", "_low", "_high")]
    return pd.DataFrame(rows, columns=cols)  # the columns also where no run falls in the scale


def profiles(t: pd.DataFrame, taus, scale: str = "stress", reps: int = RESAMPLES, seed: int = SEED) -> pd.DataFrame:
    """Performance profiles: per activation and tau, the share of its runs with accuracy above
    tau (mean over the cells of `scale` of each cell's share) with its 95% stratified
    bootstrap interval (unadjusted). Columns act, tau, share, low, high."""
    r, taus, rows = outcome_rows(t), np.asarray(taus, dtype=float), []
    for act in activations.ordered(r[r.scale == scale].act.unique()):
        point, low, high = stratified_bootstrap(_cells(r, scale, act, False), mean_of_cells(above(taus)), reps, seed)
        rows += [dict(act=act, tau=tau, share=p, low=lo, high=hi)
                 for tau, p, lo, hi in zip(taus, *np.broadcast_arrays(point, low, high, taus)[:3])]
    return pd.DataFrame(rows, columns=["act", "tau", "share", "low", "high"])
