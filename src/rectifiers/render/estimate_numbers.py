"""The estimates the abstract and the "What to use" conclusion quote, as LaTeX macros: per
activation in the regimes the text discusses (the long plain runs at each depth, the trained
ResNet, the stress grid's largest learning rate), how many runs trained and diverged, and the
gain over ReLU and the probability of improvement with their intervals; over the stress grid,
each activation's IQM, probability of improvement, gain and share trained with stratified
bootstrap intervals (rectifiers.analysis.estimates; every interval 95% and unadjusted).

Names are letters only: the regime, the activation, the quantity, and Low or High for an
interval's bounds: LongEightPreluGain, LongEightPreluGainLow, LongTwentyReluTrained ('4/10'),
StressLrPointOneLeakyPointThreeDiverged, TrainedLeakyPointOneGain, StressPreluPoi.
Gains are in accuracy points, shares trained and IQMs in percent, probabilities as 0.85."""
from __future__ import annotations

import numpy as np
import pandas as pd

from rectifiers import activations
from rectifiers.analysis import estimates, results
from rectifiers.analysis.rules import RULES, Cell, cell_key
from rectifiers.render import latex
from rectifiers.render.latex import act_name, count, num, spelled


def regime_name(scale: str, cell: str) -> str:
    """('long', 'depth=8') -> 'LongEight'; ('stress', 'lr=0.1') -> 'StressLrPointOne';
    ('trained', 'resnet20') -> 'Trained' (the study trains one network to the end)."""
    if scale == "trained":
        return "Trained"
    c = Cell.parse(cell, scale)
    return latex.macro_name(scale) + ("" if scale == "long" else latex.macro_name(c.knob)) + spelled(c.level)


def key_regimes(t: pd.DataFrame) -> list[tuple[str, str]]:
    """The regimes the text quotes, from the design (conf/claims.yaml), so that every macro exists
    whether or not its runs do: each long plain depth, the trained ResNet and the stress grid's
    largest learning rate."""
    trained = t.cell[t.scale == "trained"]
    return ([("long", cell_key("depth", d)) for d in RULES.design["long"]["depths"]]
            + [("trained", trained.iloc[0] if len(trained) else "resnet")]
            + [("stress", cell_key("lr", max(RULES.knobs["lr"])))])


def share(k, n) -> str:
    return "n/a" if n != n or not n else f"{int(k)}/{int(n)}"


def bounds(name: str, point, low, high, fmt) -> dict[str, str]:
    """name, nameLow, nameHigh, each formatted by fmt ('n/a' where missing)."""
    return {name + s: ("n/a" if x != x else fmt(x)) for s, x in (("", point), ("Low", low), ("High", high))}


def regime_numbers(per: pd.DataFrame, vs: pd.DataFrame, scale: str, cell: str, acts: list[str]) -> dict[str, str]:
    """Per activation: Trained ('k/n'), TrainedLow/High (its exact interval, percent),
    Diverged ('k/n'); for all but ReLU: Gain (points), Poi, each with Low and High."""
    m, prefix = {}, regime_name(scale, cell)
    for act in acts:
        name = prefix + act_name(act)
        r = per.loc[(scale, cell, act)] if (scale, cell, act) in per.index else pd.Series(dtype=float)
        m[name + "Trained"] = share(r.get("n_trained", np.nan), r.get("n", np.nan))
        for suffix, k in (("TrainedLow", "share_low"), ("TrainedHigh", "share_high")):
            m[name + suffix] = latex.pct(r.get(k, np.nan), 0)
        m[name + "Diverged"] = share(r.get("n_diverged", np.nan), r.get("n", np.nan))
        if act == activations.REFERENCE:
            continue
        v = vs.loc[(scale, cell, act)] if (scale, cell, act) in vs.index else pd.Series(dtype=float)
        m.update(bounds(name + "Gain", *(100 * v.get(k, np.nan) for k in ("gain", "gain_low", "gain_high")),
                        lambda x: num(x, ".1f")))
        m.update(bounds(name + "Poi", *(v.get(k, np.nan) for k in ("poi", "poi_low", "poi_high")),
                        lambda x: f"{x:.2f}"))
    return m


def grid_numbers(t: pd.DataFrame, acts: list[str]) -> dict[str, str]:
    """Over the stress grid's cells, per activation: Iqm (percent), TrainedShare (percent of
    runs above the collapse threshold) and, for all but ReLU, Poi and Gain (points), each with
    its stratified bootstrap interval; and the activation with the highest IQM."""
    agg = estimates.aggregates(t, "stress").set_index("act")
    prof = estimates.profiles(t, [RULES.collapse_accuracy], "stress").set_index("act")
    m = {}
    for act in acts:
        name = "Stress" + act_name(act)
        a = agg.loc[act] if act in agg.index else pd.Series(dtype=float)
        p = prof.loc[act] if act in prof.index else pd.Series(dtype=float)
        m.update(bounds(name + "Iqm", *(a.get(k, np.nan) for k in ("iqm", "iqm_low", "iqm_high")), latex.pct))
        m.update(bounds(name + "TrainedShare", *(p.get(k, np.nan) for k in ("share", "low", "high")),
                        lambda x: latex.pct(x, 0)))
        if act != activations.REFERENCE:
            m.update(bounds(name + "Poi", *(a.get(k, np.nan) for k in ("poi", "poi_low", "poi_high")),
                            lambda x: f"{x:.2f}"))
            m.update(bounds(name + "Gain", *(100 * a.get(k, np.nan) for k in ("gain", "gain_low", "gain_high")),
                            lambda x: num(x, ".1f")))
    best = agg.iqm.dropna()
    m["StressBestIqmAct"] = activations.display(best.idxmax()) if len(best) else "n/a"
    return m


def estimate_numbers(res: results.Results) -> dict[str, str]:
    """Every macro of this module (the module's docstring), from the results' tidy table."""
    t = res.tidy()
    acts = activations.ordered([RULES.relu, *RULES.leaky, RULES.prelu])  # the design's, trained or not
    per = estimates.per_activation(t).set_index(["scale", "cell", "act"]).sort_index()
    vs = estimates.versus_relu(t).set_index(["scale", "cell", "act"]).sort_index()
    m = {"EstimateResamples": count(estimates.RESAMPLES), "EstimateLevel": latex.pct(estimates.LEVEL, None),
         **{f"Act{act_name(a)}": activations.display(a) for a in acts}}  # the prose names them: ActLeakyPointThree
    for scale, cell in key_regimes(t):
        m.update(regime_numbers(per, vs, scale, cell, acts))
    m.update(grid_numbers(t, acts))
    return m
