"""Does a gap between activations shrink, hold or grow as the training budget grows? One
activation "learns faster" when its gap over ReLU at the stress grid's budget (5,000 images
x 5 epochs) shrinks once the networks have trained longer; it "ends better" when the gap
holds. Pure functions over the tidy table of rectifiers.analysis.tidy (diverged runs count as chance).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from . import stats
from .rules import RULES
from .tidy import Values

# Each network at a small and a large budget: (label, [(scale, cell), ...]), smallest first.
NETWORKS = (
    ("plain CNN, depth 8", (("stress", "baseline"), ("long", "depth=8"))),
    ("plain CNN, depth 20", (("stress", "depth=20"), ("long", "depth=20"))),
    ("ResNet-20", (("stress", "resnet20"), ("trained", "resnet20"))),
)


def gaps(t: pd.DataFrame, rules=RULES) -> pd.DataFrame:
    """One row per (network, budget, activation, seed): accuracy minus ReLU's of the same
    seed, and the budget in training images seen (train_size x epochs)."""
    rows = []
    for network, points in NETWORKS:
        for scale, cell in points:
            here = t[(t.scale == scale) & (t.cell == cell)]
            if here.empty:
                continue
            budget = int((here.train_size * here.epochs).iloc[0])
            values = Values(t, scale)
            for act in [a for a in (*rules.leaky, rules.prelu) if a in set(here.act)]:
                seeds = sorted(set(values.v.get((cell, act), {})) & set(values.v.get((cell, rules.relu), {})))
                for seed, gap in zip(seeds, values.diff(cell, act, rules.relu)):
                    rows.append(dict(network=network, scale=scale, budget=budget, act=act, seed=seed, gap=gap))
    return pd.DataFrame(rows, columns=["network", "scale", "budget", "act", "seed", "gap"])


def trend(small: np.ndarray, large: np.ndarray, p_adj: float, alpha: float) -> str:
    """'shrinks' when the gap moved detectably toward zero, 'grows' when it moved away from it,
    otherwise 'no detectable change' (which is not evidence that it held)."""
    if len(small) == 0 or len(large) == 0 or not p_adj < alpha:
        return "no detectable change"
    change = np.mean(large) - np.mean(small)
    toward_zero = abs(np.mean(large)) < abs(np.mean(small)) and np.sign(change) == -np.sign(np.mean(small))
    return "shrinks" if toward_zero else "grows"


def gap_changes(g: pd.DataFrame, alpha: float = RULES.alpha) -> pd.DataFrame:
    """Per network and activation: mean gap at the small and the large budget, the change with
    its Welch t interval (different runs, so not paired), Holm-adjusted over the family of all
    network x activation changes, and the trend."""
    rows = []
    for (network, act), d in g.groupby(["network", "act"], sort=False):
        budgets = sorted(d.budget.unique())
        if len(budgets) < 2:
            continue
        small, large = (d[d.budget == b].gap.to_numpy() for b in (budgets[0], budgets[-1]))
        if len(small) >= 2 and len(large) >= 2 and (np.ptp(small) > 0 or np.ptp(large) > 0):
            test = st.ttest_ind(large, small, equal_var=False)
            ci, p = test.confidence_interval(1 - alpha), float(test.pvalue)
            low, high = float(ci.low), float(ci.high)
        else:
            low = high = p = np.nan
        rows.append(dict(network=network, act=act, small_budget=budgets[0], large_budget=budgets[-1],
                         gap_small=small.mean(), n_small=len(small), gap_large=large.mean(), n_large=len(large),
                         change=large.mean() - small.mean(), low=low, high=high, p=p))
    out = pd.DataFrame(rows, columns=["network", "act", "small_budget", "large_budget", "gap_small", "n_small",
                                      "gap_large", "n_large", "change", "low", "high", "p"])
    out["p_adj"] = stats.holm(out.p.to_numpy()) if len(out) else []
    out["trend"] = [trend(g[(g.network == r.network) & (g.act == r.act) & (g.budget == r.small_budget)].gap,
                          g[(g.network == r.network) & (g.act == r.act) & (g.budget == r.large_budget)].gap,
                          r.p_adj, alpha) for r in out.itertuples()]
    return out
