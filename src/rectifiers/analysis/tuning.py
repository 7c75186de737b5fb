"""The tuned study (conf/claims.yaml, tuning): each activation's learning rate chosen on held-out
validation images, then compared with ReLU at ReLU's chosen rate on fresh seeds and the test
set. Pure functions over results/<profile>/tuned.csv (one row per run, with final_val_acc):
the selection rule, the step beyond an edge of the grid, and the expected best validation
accuracy after k trials (Dodge et al. 2019). Why it is built this way: docs/design.md section 6.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .rules import RULES, Rules

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
    from .tidy import outcomes
    rate = chosen.set_index(KEYS).lr
    t = tuned[tuned.seed.isin(rules.tuning["comparison_seeds"])]
    at = [rate.get((d, a)) for d, a in zip(t.depth, t.act)]
    return outcomes(t[np.isclose(t.lr, pd.Series(at, index=t.index, dtype=float))], rules)
