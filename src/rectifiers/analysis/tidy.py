"""The tidy table every claim reads: runs.csv with one row per run, the outcomes of a
diverged run defined once (`outcomes`), and each run's scale and cell (`tidy`). Which cell a
run belongs to is decided here alone (`grid_cells`, `reference_cell`, `cell_key`): the
claims place runs by conf/claims.yaml's design, the tables and figures
(rectifiers.analysis.results) by study.json's, with the same function. `Values` pairs the
runs of two activations by seed. Pure functions over pandas frames. Why a diverged run
counts and a failed one is missing: docs/design.md section 6.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .rules import RULES, Rules, cell_key


def reference_name(model: str, depth) -> str:
    """A reference network's cell: its model and depth, e.g. 'resnet20'."""
    return f"{model}{int(depth)}"


def reference_cell(runs: pd.DataFrame) -> pd.Series:
    """The cell of each run as a reference network's (reference_name)."""
    return pd.Series([reference_name(m, d) for m, d in zip(runs.model, runs.depth)], index=runs.index, dtype=object)


def grid_cells(runs: pd.DataFrame, stress: dict, reference: str, in_grid: pd.Series) -> pd.Series:
    """The stress-grid cell of each run in `in_grid` (None for the others): 'baseline' (every
    knob at baseline), cell_key(knob, level) (exactly one knob off it, at a declared level), or
    reference_cell for the `reference` model. `stress` is shaped as conf/claims.yaml's
    design.stress: model, baseline {column: level}, knobs {column: [stress levels]}."""
    cell = pd.Series(None, index=runs.index, dtype=object)
    base = stress["baseline"]
    plain = in_grid & (runs.model == stress["model"])
    off = {k: ~np.isclose(runs[k].astype(float), float(base[k])) for k in base}
    n_off = sum(off.values())
    cell[plain & (n_off == 0)] = "baseline"
    for knob, levels in stress["knobs"].items():
        for level in levels:
            cell[plain & (n_off == 1) & np.isclose(runs[knob].astype(float), float(level))] = cell_key(knob, level)
    ref = in_grid & (runs.model == reference)
    cell[ref] = reference_cell(runs[ref])
    return cell


def _scale_and_cell(runs: pd.DataFrame, rules: Rules) -> tuple[pd.Series, pd.Series]:
    d = rules.design
    s, base = d["stress"], d["stress"]["baseline"]
    budget = runs.train_size * runs.epochs
    grid_budget = s["train_size"] * s["epochs"]
    plain = runs.model == s["model"]
    cell = grid_cells(runs, s, d["trained"]["model"],
                      (runs.train_size == s["train_size"]) & (runs.epochs == s["epochs"]))
    scale = pd.Series(np.where(cell.notna(), "stress", None), index=runs.index, dtype=object)
    # long plain runs: the largest plain budget of at least min_budget_factor x the grid's
    others = sum(~np.isclose(runs[k].astype(float), float(base[k])) for k in base if k != "depth")
    long_ = plain & (budget >= d["long"]["min_budget_factor"] * grid_budget) & (others == 0)
    if long_.any():
        long_ &= budget == budget[long_].max()
        scale[long_], cell[long_] = "long", [cell_key("depth", v) for v in runs.depth[long_]]
    # trained: ResNet on the full training set, at its largest epoch count (a pilot is not data)
    full = runs.train_size.isna() | (runs.train_size == d["trained"]["train_size"])  # empty: all images
    tr = (runs.model == d["trained"]["model"]) & full
    if tr.any():
        tr &= runs.epochs == runs.epochs[tr].max()
        scale[tr], cell[tr] = "trained", reference_cell(runs[tr])
    return scale, cell


def outcomes(runs: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """runs.csv plus the outcomes, with the one definition of what a diverged run contributes:
    acc (final test accuracy; chance for a diverged run), dead_final, dead_peak (dead ratios;
    diverged_dead_ratio for a diverged run: with non-finite activations no unit is ever
    positive, so by the monitor's own definition every unit is dead), diverged, collapsed
    (acc at most collapse_accuracy). A run that failed with an error has NaN outcomes: it is
    missing, not a result."""
    t = runs.copy()
    ok, div = t.status == "ok", t.status == "diverged"
    t["diverged"] = div
    t["acc"] = np.where(div, rules.chance_accuracy, np.where(ok, t.final_test_acc, np.nan))
    for col, src in (("dead_final", "dead_ratio_final"), ("dead_peak", "dead_ratio_peak")):
        t[col] = np.where(div, rules.diverged_dead_ratio, np.where(ok, t[src], np.nan))
    t["collapsed"] = np.where(ok | div, t.acc <= rules.collapse_accuracy, np.nan)
    return t


def tidy(runs: pd.DataFrame, epochs: pd.DataFrame | None = None, rules: Rules = RULES) -> pd.DataFrame:
    """runs.csv -> the table every claim reads: `outcomes`, plus
    - scale ('stress' | 'long' | 'trained' | None) and cell (e.g. 'baseline', 'lr=0.1');
    - with `epochs` (epochs.csv): dead_epoch1, acc_epoch1 and early_collapse (diverged
      before epoch 1 ended, or at chance after it), for claim 6."""
    t = outcomes(runs, rules)
    t["scale"], t["cell"] = _scale_and_cell(t, rules)
    if epochs is not None:
        e1 = epochs[epochs.epoch == 1].set_index("run_id")
        t["dead_epoch1"] = t.run_id.map(e1.dead_ratio)
        t["acc_epoch1"] = t.run_id.map(e1.test_acc)
        t["early_collapse"] = t.acc_epoch1.isna() | (t.acc_epoch1 <= rules.collapse_accuracy)
    return t


class Values:
    """One outcome of one scale, by (cell, act) -> {seed: value}, NaNs left out. Built once
    per claim, so that its many paired comparisons do not each search the table."""

    def __init__(self, t: pd.DataFrame, scale: str, outcome: str = "acc"):
        here = t.loc[t.scale == scale, ["cell", "act", "seed", outcome]].dropna()
        self.v: dict = {}
        for c, a, seed, x in here.itertuples(index=False):
            self.v.setdefault((c, a), {})[seed] = float(x)

    def diff(self, cell: str, act, vs: str) -> np.ndarray:
        """outcome(act) - outcome(vs) for each seed present in both. `act` may be a list: its
        outcome is then the mean over those activations, for seeds where all have a value."""
        parts = [self.v.get((cell, a), {}) for a in ([act] if isinstance(act, str) else act)]
        base = self.v.get((cell, vs), {})
        seeds = sorted(set(base).intersection(*parts))
        return np.array([sum(p[s] for p in parts) / len(parts) - base[s] for s in seeds])


def has_scale(t: pd.DataFrame, scale: str) -> bool:
    return bool((t.scale == scale).any())


def resample_seeds(t: pd.DataFrame, rng: np.random.Generator, n: int | None = None) -> pd.DataFrame:
    """One seed bootstrap of a tidy table: within each (scale, cell), n seeds drawn with
    replacement from those present (n: as many as are present), each drawn seed with all its
    activations, so that runs stay paired by seed. Drawn seeds are numbered 0..n-1 (a seed
    drawn twice is two seeds); rows outside every scale are kept as they are."""
    keep = [np.flatnonzero(t.scale.isna().to_numpy())]
    seeds = []
    for _, g in t[t.scale.notna()].groupby(["scale", "cell"], sort=False):
        rows = {s: np.flatnonzero(t.index.isin(r.index)) for s, r in g.groupby("seed")}
        present = sorted(rows)
        for i, s in enumerate(rng.choice(present, size=n or len(present), replace=True)):
            keep.append(rows[s])
            seeds.append(np.full(len(rows[s]), i))
    out = t.iloc[np.concatenate(keep)].reset_index(drop=True)
    n_out = len(keep[0])
    out.loc[n_out:, "seed"] = np.concatenate(seeds) if seeds else []
    out["run_id"] = out.run_id.astype(str) + "#" + out.index.astype(str)  # a run drawn twice is two runs
    return out
