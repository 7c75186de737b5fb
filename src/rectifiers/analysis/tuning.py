"""The tuned study (conf/claims.yaml, tuning): each activation's learning rate chosen on held-out
validation images, then compared with ReLU at ReLU's chosen rate on fresh seeds and the test
set. Pure functions over results/<profile>/tuned.csv (one row per run, with final_val_acc):
the selection rule, the step beyond an edge of the grid, and the expected best validation
accuracy after k trials (Dodge et al. 2019). Why it is built this way: docs/design.md section 6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..activations import REFERENCE
from . import estimates
from .rules import RULES, Rules, cell_key
from .tidy import outcomes

KEYS = ["depth", "act"]  # a tuning problem: one network and one activation


def val_score(runs: pd.DataFrame, rules: Rules = RULES) -> pd.Series:
    """A run's validation accuracy, chance for a diverged run, NaN for a failed one (missing)."""
    return pd.Series(np.where(runs.status == "diverged", rules.chance_accuracy,
                              np.where(runs.status == "ok", runs.final_val_acc, np.nan)), index=runs.index)


def selection_runs(tuned: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """The runs that choose: those of the selection seeds, with their score."""
    t = tuned[tuned.seed.isin(rules.tuning["selection_seeds"])].copy()
    t["score"] = val_score(t, rules)
    return t


def scores(tuned: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """Per depth, activation and rate: the mean validation score over the selection seeds and
    how many runs it is the mean of."""
    t = selection_runs(tuned, rules)
    return t.groupby([*KEYS, "lr"]).score.agg(["mean", "count"]).reset_index()


def choose(table: pd.DataFrame) -> pd.DataFrame:
    """The declared rule: per depth and activation, the rate with the best mean validation score,
    a tie going to the smaller rate. `table` is scores()'s."""
    best = table.sort_values(["mean", "lr"], ascending=[False, True], kind="mergesort")
    return best.groupby(KEYS, sort=True).head(1).set_index(KEYS).sort_index().reset_index()


def beyond_edge(chosen: pd.DataFrame, rules: Rules = RULES) -> list[tuple]:
    """(depth, act, rate) of each step beyond the grid that the rule asks for: where the chosen
    rate is the grid's lowest or highest, the declared step below or above it, once."""
    t = rules.tuning
    step = {min(t["rates"]): t["beyond_edge"]["below"], max(t["rates"]): t["beyond_edge"]["above"]}
    return [(int(r.depth), r.act, step[r.lr]) for r in chosen.itertuples() if r.lr in step]


def edge(chosen: pd.DataFrame, tried: pd.DataFrame) -> pd.Series:
    """Whether each chosen rate is still the lowest or highest rate tried for its problem: the
    best rate may then lie beyond what was searched."""
    lo, hi = (tried.groupby(KEYS).lr.agg(f) for f in ("min", "max"))
    at = chosen.set_index(KEYS).lr
    return ((at == lo.reindex(at.index)) | (at == hi.reindex(at.index))).reset_index(drop=True)


def expected_best(values, k: int) -> float:
    """Dodge et al. (2019): the expected maximum of k draws, with replacement, from the empirical
    distribution of `values` (here, the grid's runs of one problem, each one trial).
    E[max] = sum_i v_(i) [(i/n)^k - ((i-1)/n)^k] over the sorted values v_(1) <= ... <= v_(n)."""
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    i = np.arange(1, n + 1)
    return float(np.sum(v * ((i / n) ** k - ((i - 1) / n) ** k)))


def budget_curves(tuned: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """Per depth and activation, the expected best validation accuracy after k trials, for each k
    of the declared budget, from the grid's runs (the declared rates only: an edge step is a
    choice made after seeing the grid, not a random trial)."""
    t = selection_runs(tuned, rules)
    t = t[t.lr.isin(rules.tuning["rates"]) & t.score.notna()]
    rows = [{"depth": d, "act": a, "k": k, "trials": len(g), "expected_best": expected_best(g.score, k)}
            for (d, a), g in t.groupby(KEYS) for k in rules.tuning["budget"]]
    return pd.DataFrame(rows)


def comparison_runs(tuned: pd.DataFrame, chosen: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """The runs of the comparison seeds at each activation's chosen rate, with their test
    accuracy as every other comparison of the study scores it (tidy.outcomes: diverged = chance)."""
    rate = chosen.set_index(KEYS).lr
    t = tuned[tuned.seed.isin(rules.tuning["comparison_seeds"])]
    at = [rate.get((d, a)) for d, a in zip(t.depth, t.act)]
    return outcomes(t[np.isclose(t.lr, pd.Series(at, index=t.index, dtype=float))], rules)


def compare(runs: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """Per depth and activation, comparison_runs()' table summarised as the rest of the study
    is (analysis/estimates.py): the share of runs that trained (exact interval) and their mean
    accuracy, and against ReLU at ReLU's chosen rate, paired by seed, the probability of
    improvement and the mean difference, each with a percentile bootstrap interval over seeds
    (95%, unadjusted)."""
    rows = []
    for depth, d in runs.groupby("depth"):
        relu = d[d.act == REFERENCE].set_index("seed").acc
        for act, g in d.groupby("act", sort=False):
            trained = ~(g.collapsed.astype(bool) | g.diverged.astype(bool))
            k, n = int(trained.sum()), len(g)
            pair = g.set_index("seed").acc.reindex(relu.index).dropna()
            diff = (pair - relu.reindex(pair.index)).to_numpy()
            poi, gain = estimates.bootstrap_mean(estimates.improvement(diff)), estimates.bootstrap_mean(diff)
            low, high = estimates.clopper_pearson(k, n)
            rows.append(dict(depth=depth, act=act, lr=float(g.lr.iloc[0]), n=n, n_trained=k,
                             share=k / n, share_low=low, share_high=high,
                             acc_trained=float(g.acc[trained].mean()) if k else np.nan, mean=float(g.acc.mean()),
                             n_pairs=len(diff), poi=poi[0], poi_low=poi[1], poi_high=poi[2],
                             gain=gain[0], gain_low=gain[1], gain_high=gain[2]))
    return pd.DataFrame(rows)


@dataclass
class Tuned:
    """What the tuned study found so far: every part is empty until its runs exist."""
    scores: pd.DataFrame      # per depth, activation and rate: mean validation score, runs
    chosen: pd.DataFrame      # per depth and activation: the chosen rate, its score, at_edge
    curves: pd.DataFrame      # budget_curves()
    comparison: pd.DataFrame  # compare(), at the chosen rates on the comparison seeds
    grid_runs: int            # selection runs done, of
    grid_planned: int         # depths x activations x rates x selection seeds

    @property
    def selected(self) -> bool:
        return self.grid_runs >= self.grid_planned


def summarise(tuned: pd.DataFrame, rules: Rules = RULES) -> Tuned:
    t = rules.tuning
    acts = [rules.relu, *rules.leaky, rules.prelu]
    planned = len(t["depths"]) * len(acts) * len(t["rates"]) * len(t["selection_seeds"])
    grid = selection_runs(tuned, rules)
    done = int((grid.lr.isin(t["rates"]) & grid.score.notna()).sum())
    if tuned.empty:
        empty = pd.DataFrame()
        return Tuned(empty, empty, empty, empty, 0, planned)
    s = scores(tuned, rules)
    chosen = choose(s)
    chosen["at_edge"] = edge(chosen, s)
    runs = comparison_runs(tuned, chosen, rules)
    return Tuned(s, chosen, budget_curves(tuned, rules), compare(runs, rules) if len(runs) else pd.DataFrame(),
                 done, planned)


def fate(fixed: tuple, tuned: tuple) -> str:
    """What tuning did to a difference from ReLU, as a verb phrase ("the difference ... survives"),
    read from its 95% intervals (low, high) at the fixed rate and after tuning: a difference is
    there when its interval excludes 0."""
    sign = [1 if low > 0 else -1 if high < 0 else 0 for low, high in (fixed, tuned)]
    return {(1, 1): "survives", (1, 0): "vanishes", (1, -1): "reverses",
            (-1, -1): "remains a loss", (-1, 0): "vanishes", (-1, 1): "turns into a gain",
            (0, 1): "appears", (0, -1): "appears as a loss", (0, 0): "is absent either way"}[tuple(sign)]


def fixed_cells(rules: Rules = RULES) -> dict[str, int]:
    """The stress grid's cells at the tuned depths and budget, every activation at the baseline
    rate: the baseline (depth 8) and the depth-20 cell, each with its depth."""
    base = rules.design["stress"]["baseline"]["depth"]
    return {"baseline" if d == base else cell_key("depth", d): d for d in rules.tuning["depths"]}


def fixed_rate(t: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """The fixed-rate study's paired differences from ReLU (estimates.versus_relu) in the
    fixed_cells(), indexed by depth and activation."""
    cells = fixed_cells(rules)
    vs = estimates.versus_relu(t)
    vs = vs[(vs.scale == "stress") & vs.cell.isin(cells)].assign(depth=lambda v: v.cell.map(cells))
    return vs.set_index(KEYS)


def fixed_trained(t: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """The fixed-rate study's runs that trained (n_trained of n; estimates.per_activation) in the
    fixed_cells(), ReLU included, indexed by depth and activation."""
    cells = fixed_cells(rules)
    per = estimates.per_activation(t)
    per = per[(per.scale == "stress") & per.cell.isin(cells)].assign(depth=lambda v: v.cell.map(cells))
    return per.set_index(KEYS)
