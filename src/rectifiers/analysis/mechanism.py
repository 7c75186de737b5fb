"""Does units dying cause a collapse, or does a collapse kill units? Per run of the groups in
which some seeds collapsed and others trained (same scale, cell and activation: `split_groups`),
the epoch of the collapse and the epoch the dead units passed a level, which came first
(`timelines`), the gradient norms across depth (`grad_ratios`, `grad_by_layer`), and the
signal through depth at initialisation (`signal_profile`, `signal_ends`, `init_link`; the table
scripts/signal_scale.py writes). Collapsed and trained runs of a group are compared by an exact
Mann-Whitney test (`compare`). Pure functions of the results tables; docs/design.md section 5
says what the monitor records.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .rules import RULES, Rules

DEAD_LEVEL = 0.10  # a network "has died" once more than this fraction of its units is dead
LOW_DEAD = 0.05    # "almost no dead units"
LEARNED = 0.15     # after a collapse, an accuracy above this is learning again, not chance
GROUP = ["scale", "cell", "act"]
ORDERS = ("death first", "same epoch", "collapse first", "collapse without death", "diverged",
          "death without collapse", "neither")


def split_groups(t: pd.DataFrame) -> pd.DataFrame:
    """The (scale, cell, act) groups of a tidy table in which some runs collapsed and some did
    not, with their runs, collapsed runs and diverged runs. Failed runs are left out."""
    done = t[t.scale.notna() & t.collapsed.notna()]
    g = done.groupby(GROUP, sort=False).agg(runs=("run_id", "size"), collapsed=("collapsed", "sum"),
                                           diverged=("diverged", "sum")).reset_index()
    return g[(g.collapsed > 0) & (g.collapsed < g.runs)].astype({"collapsed": int, "diverged": int})


def collapse_epoch(acc: pd.Series, chance: float, learned: float = LEARNED) -> float:
    """acc: test accuracy by epoch (index; 0 is initialisation). The first epoch >= 1 at chance
    (acc <= chance) after which the accuracy never exceeds `learned`; NaN if there is none."""
    acc = acc.sort_index()
    for e, a in acc[acc.index >= 1].items():
        if a <= chance and not (acc[acc.index > e] > learned).any():
            return float(e)
    return np.nan


def first_above(values: pd.Series, level: float) -> float:
    """The first epoch (index) whose value exceeds `level`; NaN if none does."""
    above = values.sort_index()
    above = above[above > level]
    return float(above.index[0]) if len(above) else np.nan


def order(collapse: float, death: float, diverged: bool = False) -> str:
    """Which came first in one run: the collapse (epoch) or the death (epoch the dead ratio
    passed the level); NaN means it did not happen. One of ORDERS."""
    if diverged:
        return "diverged"
    if np.isnan(collapse):
        return "neither" if np.isnan(death) else "death without collapse"
    if np.isnan(death):
        return "collapse without death"
    return "death first" if death < collapse else ("same epoch" if death == collapse else "collapse first")


def _at(values: pd.Series, epoch: float) -> float:
    return float(values.get(epoch, np.nan)) if not np.isnan(epoch) else np.nan


TIMELINE = ["scale", "cell", "act", "depth", "init_bias", "seed", "run_id", "status", "collapsed", "diverged",
            "collapse_epoch", "dead_epoch", "order", "dead_init", "dead_epoch1", "dead_before", "dead_at_collapse",
            "dead_end"]


def timelines(t: pd.DataFrame, epochs: pd.DataFrame, groups: pd.DataFrame, rules: Rules = RULES,
              level: float = DEAD_LEVEL) -> pd.DataFrame:
    """One row per run of `groups`: its group, depth, init_bias, seed, status, collapsed,
    diverged; collapse_epoch (a diverged run: the epoch its loss went non-finite), dead_epoch
    (the first epoch with more than `level` of its units dead), order; its dead ratio at
    initialisation, after epoch 1, at the measurement before the collapse, at the collapse,
    and at the end (a finished run's last measurement; NaN for a diverged run)."""
    runs = t.merge(groups[GROUP], on=GROUP)
    by_run = {r: g.set_index("epoch") for r, g in epochs[epochs.run_id.isin(runs.run_id)].groupby("run_id")}
    rows = []
    for r in runs.itertuples(index=False):
        e = by_run.get(r.run_id, pd.DataFrame({"test_acc": [], "dead_ratio": []}))
        dead = e.dead_ratio.dropna()
        ce = float(r.epochs_completed + 1) if r.diverged else (
            collapse_epoch(e.test_acc.dropna(), rules.collapse_accuracy) if r.collapsed else np.nan)
        de = first_above(dead, level)
        rows.append({"scale": r.scale, "cell": r.cell, "act": r.act, "depth": r.depth, "init_bias": r.init_bias,
                     "seed": r.seed, "run_id": r.run_id, "status": r.status, "collapsed": bool(r.collapsed),
                     "diverged": bool(r.diverged), "collapse_epoch": ce, "dead_epoch": de,
                     "order": order(ce, de, bool(r.diverged)), "dead_init": _at(dead, 0), "dead_epoch1": _at(dead, 1),
                     "dead_before": _at(dead, ce - 1), "dead_at_collapse": _at(dead, ce),
                     "dead_end": float(dead.iloc[-1]) if r.status == "ok" and len(dead) else np.nan})
    return pd.DataFrame(rows, columns=TIMELINE)  # the columns also where no group splits


def rank_test(a, b) -> float:
    """Two-sided Mann-Whitney p-value of two samples, exact: over every split of the pooled
    values (ties handled by mid-ranks) while there are at most 9999 splits, else 9999 drawn with
    a fixed seed. NaN when a sample has fewer than two values or every value is the same."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2 or np.ptp(np.r_[a, b]) == 0:
        return np.nan
    return float(stats.mannwhitneyu(a, b, method=stats.PermutationMethod(n_resamples=9999, rng=0)).pvalue)


def compare(tl: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per group: the finished runs' `value` in collapsed and trained runs, their counts and
    medians, and the exact Mann-Whitney p-value of the difference (rank_test). Diverged runs
    have no value after they diverged, so they are left out."""
    rows = []
    for key, g in tl[tl.status == "ok"].groupby(GROUP, sort=False):
        c, k = g.loc[g.collapsed, value].dropna(), g.loc[~g.collapsed, value].dropna()
        rows.append(dict(zip(GROUP, key), n_collapsed=len(c), n_trained=len(k), collapsed=c.median(),
                         trained=k.median(), p=rank_test(c, k)))
    return pd.DataFrame(rows, columns=GROUP + ["n_collapsed", "n_trained", "collapsed", "trained", "p"])


def grad_by_layer(layers: pd.DataFrame, run_ids, epoch: int | None = 1) -> pd.DataFrame:
    """run_id, layer, grad_norm (the mean over the epoch's steps of the norm of the weight
    gradient feeding each rectifier) of each run at `epoch`; None: each run's last epoch."""
    x = layers[layers.run_id.isin(set(run_ids)) & layers.grad_norm.notna()]
    if epoch is None:
        x = x[x.epoch == x.groupby("run_id").epoch.transform("max")]
    else:
        x = x[x.epoch == epoch]
    return x[["run_id", "epoch", "layer", "grad_norm"]].sort_values(["run_id", "layer"]).reset_index(drop=True)


def grad_ratios(grads: pd.DataFrame) -> pd.Series:
    """run_id -> first layer's grad norm / last layer's (grad_by_layer's rows): below 1, the
    gradient shrinks on its way down to the input; above 1, it grows."""
    g = grads.sort_values("layer").groupby("run_id").grad_norm
    return g.first() / g.last()


def prelu_slopes(layers: pd.DataFrame, run_ids) -> pd.Series:
    """The lowest and highest learned PReLU slope of any channel in the runs' last measurement
    (min, max), and the mean over their layers."""
    x = layers[layers.run_id.isin(set(run_ids)) & layers.slope_mean.notna()]
    x = x[x.epoch == x.groupby("run_id").epoch.transform("max")]
    return pd.Series({"min": x.slope_min.min(), "max": x.slope_max.max(), "mean": x.slope_mean.mean()})


# --- the signal through depth at initialisation (results/<profile>/signal_scale.csv) -----------

SETTING = ["depth", "init_bias", "act"]
SEEDED = SETTING + ["seed"]


def signal_settings(rules: Rules = RULES) -> list[tuple[int, float]]:
    """(depth, init bias) of the signal measurement: the long study's depths at bias 0, and the
    init-bias knob's most stressful level at the grid's baseline depth (the claims' design)."""
    d = rules.design
    worst = float(d["stress"]["knobs"]["init_bias"][-1])
    return [(int(depth), 0.0) for depth in d["long"]["depths"]] + [(int(d["stress"]["baseline"]["depth"]), worst)]


def signal_acts(rules: Rules = RULES) -> list[str]:
    """The activations every claim reads, as labels: ReLU, the Leaky slopes, PReLU."""
    return [rules.relu, *rules.leaky, rules.prelu]


def _relative(sig: pd.DataFrame) -> pd.DataFrame:
    """The signal table with log_rel: log(second moment / the same network's first layer's)."""
    first = sig.loc[sig.layer == 0, SEEDED + ["second_moment"]].rename(columns={"second_moment": "first"})
    s = sig.merge(first, on=SEEDED)
    return s.assign(log_rel=np.log(s.second_moment / s["first"])).drop(columns="first")


def signal_profile(sig: pd.DataFrame) -> pd.DataFrame:
    """Per setting and layer, over seeds: rel, the second moment relative to the first layer's
    (geometric mean over seeds of the per-network ratios), the mean log spread and the mean
    cosine, and the number of seeds."""
    out = _relative(sig).groupby(SETTING + ["layer"]).agg(
        log_rel=("log_rel", "mean"), log_spread=("log_spread", "mean"), cosine=("cosine", "mean"),
        seeds=("seed", "nunique")).reset_index()
    return out.assign(rel=np.exp(out.log_rel)).drop(columns="log_rel")


def signal_ends(sig: pd.DataFrame) -> pd.DataFrame:
    """Per setting, signal_profile at its last layer: rel (last/first second moment),
    log_spread and cosine there, and cosine_first, the first layer's cosine."""
    p = signal_profile(sig)
    last = p[p.layer == p.groupby(SETTING).layer.transform("max")].set_index(SETTING)
    first = p[p.layer == 0].set_index(SETTING)
    return last.assign(cosine_first=first.cosine).drop(columns="layer").reset_index()


def init_link(sig: pd.DataFrame, tl: pd.DataFrame) -> pd.DataFrame:
    """Did the initial network tell which seeds would collapse? The runs of `tl` (timelines)
    with the last layer's cosine (cos_last) and log second-moment ratio to the first layer
    (log_rel) of the same seed's initial network (scripts/signal_scale.py builds each seed's
    network as the run does)."""
    s = _relative(sig)
    last = s[s.layer == s.groupby(SEEDED).layer.transform("max")]
    return tl.merge(last[SEEDED + ["cosine", "log_rel"]].rename(columns={"cosine": "cos_last"}), on=SEEDED)
