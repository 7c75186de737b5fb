"""The numbers of numbers.tex that are means over the runs of a cell: the cells the text
discusses, the lethal cells and PReLU's slopes, the larger budgets and the gaps over ReLU
there. render/numbers.py puts them in numbers.tex; render/reproduction.py compares a
reproduction's means with them. Pure functions of the results tables."""
from __future__ import annotations

import numpy as np
import pandas as pd

from rectifiers import activations
from rectifiers.analysis import results, stats
from rectifiers.analysis.rules import RULES, Rules
from rectifiers.analysis.scaling import gap_changes, gaps
from rectifiers.render import latex
from rectifiers.render.latex import count, num


def lookup(frame: pd.DataFrame, key: str, act: str, col: str = "mean") -> float:
    """A summary's value for (cell, act), NaN where the cell has no such runs."""
    return frame.loc[(key, act), col] if (key, act) in frame.index else np.nan


def cell_means(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Means over all seeds per (cell, act) of each outcome, a diverged run at its declared
    value (tidy.outcomes)."""
    return {v: results.over_seeds(df, v, ["cell", "act"]).set_index(["cell", "act"])
            for v in ("acc", "dead_peak", "dead_final", "dead_ratio_init")}


def cell_numbers(res: results.Results) -> dict[str, str]:
    """The cells the text discusses: the baseline, each knob's most stressful level, the
    reference; and the best accuracy of the whole grid."""
    df, cells = results.cell_frame(res.runs, res.study), results.cells(res.study)
    acts = activations.ordered(df.act.unique())
    leaky = [a for a in acts if activations.is_leaky(a)]
    s = cell_means(df)
    acc, peak, end, init = s["acc"], s["dead_peak"], s["dead_final"], s["dead_ratio_init"]
    last = {c.knob: c for c in cells if c.kind == "stress"}  # levels run baseline -> most stressful
    m = {}
    for c in [c for c in cells if c.kind != "stress"] + list(last.values()):
        key, suffix = c.key, "Baseline" if c.kind == "baseline" else latex.macro_name(c.knob)
        m["ReluAcc" + suffix] = latex.pct(lookup(acc, key, "relu"))
        m["ReluPeakDead" + suffix] = latex.pct(lookup(peak, key, "relu"))
        m["ReluPeakDeadCi" + suffix] = latex.interval(lookup(peak, key, "relu", "low"),
                                                      lookup(peak, key, "relu", "high")) or "(no interval)"
        m["ReluEndDead" + suffix] = latex.pct(lookup(end, key, "relu"))
        m["ReluInitDead" + suffix] = latex.pct(lookup(init, key, "relu"))
        n = lookup(acc, key, "relu", "n_runs")
        m["ReluDiverged" + suffix] = "n/a" if np.isnan(n) else f"{int(lookup(acc, key, 'relu', 'n_diverged'))}/{int(n)}"
        m["LeakyMaxEndDead" + suffix] = latex.pct(max((lookup(end, key, a) for a in leaky), default=np.nan))
        means = {a: lookup(acc, key, a) for a in acts if not np.isnan(lookup(acc, key, a))}
        best = max(means, key=means.get) if means else None
        m["BestAcc" + suffix] = latex.pct(means[best]) if best else "n/a"
        m["BestAct" + suffix] = activations.display(best) if best else "n/a"
        m["NumDiverged" + suffix] = count(sum(lookup(acc, key, a, "n_diverged") for a in acts
                                              if (key, a) in acc.index))
    first = (cells[0].key, acts[0])
    m["MainFirstAccuracy"] = latex.pct(acc.loc[first, "mean"]) if first in acc.index else "n/a"
    top = acc["mean"].dropna()
    if len(top):
        (key, act) = top.idxmax()
        m["BestAccuracy"], m["BestAccuracyAct"] = latex.pct(top.max()), activations.display(act)
        m["BestAccuracyRegime"] = latex.tex_escape(next(c.label for c in cells if c.key == key))
    return m


def dead_numbers(res: results.Results, rules: Rules) -> dict[str, str]:
    """Dead units: the lethal cells, where ReLU's mean peak dead ratio reaches claim 1's
    threshold (descriptive), and the range of the slopes PReLU learned."""
    df, cells = results.cell_frame(res.runs, res.study), results.cells(res.study)
    peak = results.over_seeds(df, "dead_peak", ["cell", "act"]).set_index(["cell", "act"])
    lethal = [c for c in cells if c.kind != "reference" and (c.key, "relu") in peak.index
              and peak.loc[(c.key, "relu"), "mean"] >= rules.dead_threshold]
    m = {"NumLethalCells": count(len(lethal)), "NumPlainCells": count(sum(c.kind != "reference" for c in cells)),
         "LethalCells": latex.prose(", ".join(c.label for c in lethal)) or "none"}
    layers = res.layers
    grid_layers = layers[np.isclose(layers.budget, results.grid_budget(res.runs))]
    if grid_layers.slope_mean.notna().any():
        s = grid_layers[(grid_layers.act == "prelu") & grid_layers.slope_mean.notna() & (grid_layers.status == "ok")]
        at_end = results.final_epoch(s)
        m["PreluSlopeMin"] = num(round(at_end.slope_mean.min(), 2))
        m["PreluSlopeMax"] = num(round(at_end.slope_mean.max(), 2))
    else:
        m["PreluSlopeMin"] = m["PreluSlopeMax"] = "n/a"
    return m


def scale_numbers(res) -> dict[str, str]:
    """The larger budgets (conf/study/plain_long.yaml, resnet_trained.yaml), the trained
    ResNet's ReLU accuracy and how the gaps over ReLU changed with the budget."""
    scales = res.study["scales"]
    grid_budget = RULES.design["stress"]["train_size"] * RULES.design["stress"]["epochs"]
    long_, trained = scales["plain_long"], scales["resnet_trained"]
    full = res.runs.train_size.max()  # train_size null means every training image; runs.csv has the count
    long_n, trained_n = long_["train_size"] or full, trained["train_size"] or full
    m = {"LongTrainSize": count(long_n), "LongEpochs": count(long_["epochs"]),
         "LongBudgetFactor": f"{long_n * long_['epochs'] / grid_budget:g}",
         "LongDepths": latex.series(long_["levels"]),
         "TrainedTrainSize": count(trained_n), "TrainedEpochs": count(trained["epochs"]),
         "TrainedBudgetFactor": f"{trained_n * trained['epochs'] / grid_budget:g}",
         # He et al. (2016), Table 6: ResNet-20, 64k iterations at batch 128 (164 epochs), 91.25%
         "HeResnetTwentyAcc": "91.25", "HeResnetTwentyEpochFactor": f"{164 / trained['epochs']:.0f}"}
    t = res.tidy()
    relu = t[(t.scale == "trained") & (t.act == RULES.relu)].acc.dropna()
    m["ReluAccTrained"] = latex.pct(relu.mean()) if len(relu) else "n/a"
    m["ReluTrainedSeeds"] = f"{count(len(relu))} seed{'s' if len(relu) != 1 else ''}"
    g = gaps(t)
    trained_gaps = []  # each activation minus ReLU in the trained ResNet: mean [paired t interval], points
    for act in activations.ordered(g[g.scale == "trained"].act.unique()):
        d = stats.t_test(g[(g.scale == "trained") & (g.act == act)].gap.to_numpy(), alpha=RULES.alpha)
        trained_gaps.append(f"{activations.display(act)} {latex.signed_interval_tex(d.mean, d.low, d.high)}")
    m["TrainedGaps"] = latex.series(trained_gaps) or "n/a"
    # Ramachandran et al. (2017), CIFAR-10 table: ResNet-164, median of five runs (their Leaky ReLU slope: 0.01)
    theirs = {"Relu": 93.8, "Leaky": 94.2, "Prelu": 94.1}
    m.update({f"Ramachandran{k}Acc": f"{v:.1f}" for k, v in theirs.items()})
    m.update({f"Ramachandran{k}Gap": f"${theirs[k] - theirs['Relu']:+.1f}$" for k in ("Leaky", "Prelu")})
    m["RamachandranResnetDepth"] = "164"
    ch = gap_changes(g)
    m["NumGapChanges"] = count(len(ch))
    for trend, name in (("shrinks", "Shrink"), ("grows", "Grow"), ("no detectable change", "Unchanged")):
        m["NumGaps" + name] = count((ch.trend == trend).sum())
    return m
