"""The numbers of the paper's mechanism section, as LaTeX macros: which comes first, the dead
units or the collapse (counts of runs by order, the dead ratios of collapsed and trained runs
before, at and after the collapse, the exact Mann-Whitney tests within each group), the
gradient's ratio first/last layer, the learned PReLU slopes, the divergences per activation,
and the signal through depth at initialisation (results/<profile>/signal_scale.csv, written
by scripts/signal_scale.py; "n/a" without it). Pure functions of the results tables
(rectifiers.analysis.mechanism)."""
from __future__ import annotations

import pandas as pd

from rectifiers.analysis import mechanism as mech
from rectifiers.analysis.rules import RULES
from rectifiers.render import latex
from rectifiers.render.latex import act_name, count, num, spelled

SIGNAL = "signal_scale.csv"
ORDER_MACROS = {"death first": "MechDeathFirst", "same epoch": "MechDeathSameEpoch",
                "collapse first": "MechCollapseFirst", "collapse without death": "MechCollapseWithoutDeath",
                "death without collapse": "MechDeathWithoutCollapse", "neither": "MechNeitherDeathNorCollapse"}


def ratio(x) -> str:
    """A ratio for the text: two significant digits, its minus typographic."""
    return num(x, ".2g")


def order_numbers(tl: pd.DataFrame) -> dict[str, str]:
    """How many runs of the split groups did what, and their dead ratios around the collapse."""
    c = tl[tl.collapsed & ~tl.diverged]
    ok = tl[tl.status == "ok"]
    n = {o: int((tl.order == o).sum()) for o in mech.ORDERS}
    m = {"MechSplitRuns": count(len(tl)), "MechCollapsedRuns": count(len(c)),
         "MechDivergedRuns": count(tl.diverged.sum()), "MechTrainedRuns": count((~tl.collapsed).sum()),
         "MechCollapseEpochOne": count((c.collapse_epoch == 1).sum()),
         "MechDeathFirstAtInit": count(((c.order == "death first") & (c.dead_epoch == 0)).sum()),
         "MechLowDeadBeforeCollapse": count((c.dead_before < mech.LOW_DEAD).sum()),
         "MechLowDeadEpochOne": count((c.dead_epoch1 < mech.LOW_DEAD).sum()),
         "MechDeadRoseAfterCollapse": count((c.dead_end > c.dead_at_collapse).sum()),
         "MechDeadAtCollapse": latex.pct(c.dead_at_collapse.median())}
    for o, name in ORDER_MACROS.items():
        m[name] = count(n[o])
    for what, col in (("init", "dead_init"), ("epoch one", "dead_epoch1"), ("end", "dead_end")):
        m[latex.macro_name("mech dead", what, "collapsed")] = latex.pct(ok.loc[ok.collapsed, col].median())
        m[latex.macro_name("mech dead", what, "trained")] = latex.pct(ok.loc[~ok.collapsed, col].median())
    return m


def rank_numbers(tl: pd.DataFrame, name: str, value: str, alpha: float) -> dict[str, str]:
    """Of the groups with two or more finished runs on each side, in how many the exact
    Mann-Whitney test tells collapsed from trained runs by `value`, and its smallest p."""
    cmp = mech.compare(tl, value).dropna(subset=["p"])
    return {f"Mech{name}Tested": count(len(cmp)), f"Mech{name}Significant": count((cmp.p < alpha).sum()),
            f"Mech{name}MinP": latex.p_value(cmp.p.min()) if len(cmp) else "n/a"}


def grad_numbers(tl: pd.DataFrame, layers: pd.DataFrame) -> dict[str, str]:
    """The gradient's first/last layer ratio after epoch 1 and at the end, collapsed against
    trained (medians over finished runs), and the runs with no gradient left at all."""
    ok = tl[tl.status == "ok"]
    m = {}
    for when, epoch in (("EpochOne", 1), ("End", None)):
        grads = mech.grad_by_layer(layers, ok.run_id, epoch)
        r = ok.run_id.map(mech.grad_ratios(grads))
        m[f"MechGradRatio{when}Collapsed"] = ratio(r[ok.collapsed].median())
        m[f"MechGradRatio{when}Trained"] = ratio(r[~ok.collapsed].median())
        m.update(rank_numbers(ok.assign(g=r), f"Grad{when}", "g", RULES.alpha))
    end = mech.grad_by_layer(layers, ok.run_id, None)
    frozen = end.groupby("run_id").grad_norm.max() == 0
    m["MechFrozenRuns"] = count(frozen.reindex(ok.loc[ok.collapsed, "run_id"], fill_value=False).sum())
    return m


def slope_numbers(t: pd.DataFrame, layers: pd.DataFrame) -> dict[str, str]:
    """PReLU's learned slopes in the long runs at the deepest depth (last measurement), and the
    diverged runs of each activation over the stress grid and the long runs."""
    long_ = t[t.scale == "long"]
    deep = long_[(long_.act == RULES.prelu) & (long_.depth == long_.depth.max())]
    s = mech.prelu_slopes(layers, deep.run_id)
    m = {"MechPreluSlopeMean": num(s["mean"], ".2f"), "MechPreluSlopeMin": num(s["min"], ".2f"),
         "MechPreluSlopeMax": num(s["max"], ".2f")}
    scaled = t[t.scale.isin(["stress", "long"])]
    for act in sorted([RULES.relu, *RULES.leaky, RULES.prelu]):  # the design's, trained or not
        m[f"MechDiverged{act_name(act)}"] = count(scaled.diverged[scaled.act == act].sum())
    m["MechRunsPerActivation"] = count(scaled.groupby("act").size().max()) if len(scaled) else "n/a"
    return m


def signal_numbers(sig: pd.DataFrame | None, tl: pd.DataFrame) -> dict[str, str]:
    """At initialisation, per activation and setting (mechanism.signal_settings): the last
    layer's second moment over the first's, the last layer's cosine and log spread; and whether
    a seed's initial network told its collapse (the last layer's cosine and scale, exact
    Mann-Whitney per group). Every macro is 'n/a' without the signal table (sig None)."""
    ends = mech.signal_ends(sig).set_index(mech.SETTING) if sig is not None else pd.DataFrame()
    m = {}
    for depth, bias in mech.signal_settings():
        where = f"Depth{spelled(depth)}" + ("Bias" if bias else "")
        for act in mech.signal_acts():
            r = ends.loc[(depth, bias, act)] if (depth, bias, act) in ends.index else None
            a = act_name(act)
            m[f"MechSignalRatio{a}{where}"] = ratio(r.rel) if r is not None else "n/a"
            m[f"MechSignalCosine{a}{where}"] = num(r.cosine, ".2f") if r is not None else "n/a"
            m[f"MechSignalSpread{a}{where}"] = num(r.log_spread, ".2f") if r is not None else "n/a"
    link = mech.init_link(sig, tl) if sig is not None else tl.iloc[:0].assign(cos_last=[], log_rel=[])
    m.update(rank_numbers(link, "InitCosine", "cos_last", RULES.alpha))
    m.update(rank_numbers(link, "InitScale", "log_rel", RULES.alpha))
    m["MechSignalSeeds"] = count(sig.seed.nunique()) if sig is not None else "n/a"
    m["MechSignalImages"] = count(sig.images.iloc[0]) if sig is not None and len(sig) else "n/a"
    return m


def mechanism_numbers(res) -> dict[str, str]:
    """Every macro of the mechanism section. `res`: rectifiers.analysis.results.Results with
    runs, epochs and layers; signal_scale.csv is read from res.dir where it exists."""
    t = res.tidy()
    groups = mech.split_groups(t)
    tl = mech.timelines(t, res.epochs, groups)
    m = {"MechSplitGroups": count(len(groups)), "MechDeadLevelPct": latex.pct(mech.DEAD_LEVEL, None),
         "MechLowDeadPct": latex.pct(mech.LOW_DEAD, None), "MechLearnedPct": latex.pct(mech.LEARNED, None)}
    m.update(order_numbers(tl))
    m.update(rank_numbers(tl, "InitDead", "dead_init", RULES.alpha))
    m.update(rank_numbers(tl, "EpochOneDead", "dead_epoch1", RULES.alpha))
    m.update(grad_numbers(tl, res.layers))
    m.update(slope_numbers(t, res.layers))
    path = res.dir / SIGNAL
    m.update(signal_numbers(pd.read_csv(path) if path.is_file() else None, tl))
    return m
