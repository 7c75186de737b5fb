"""Statistics of the study (DESIGN.md section 6): bootstrap intervals over seeds, paired
differences against ReLU, diverged-run counts and the verdict helper. Pure functions on
pandas frames of results/<profile>/runs.csv."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

BASELINE_ACT = "relu"
ACT_ORDER = ("relu", "leaky_relu_0.01", "leaky_relu_0.1", "leaky_relu_0.2", "leaky_relu_0.3", "prelu",
             "prelu_shared")


def act_label(activation: dict) -> str:
    """Config -> short label: relu, leaky_relu_0.1, prelu, prelu_shared."""
    name = activation["name"]
    if name == "leaky_relu":
        return f"leaky_relu_{activation['negative_slope']:g}"
    if name == "prelu" and activation.get("mode") == "shared":
        return "prelu_shared"
    return name


def bootstrap_ci(values, n_boot: int = 10_000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap interval of the mean. NaNs are dropped."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n_boot, len(x)), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return (float(x.mean()), float(lo), float(hi))


def verdict(low: float, high: float, higher_is_better: bool = True) -> str:
    """'better' or 'worse' only when the paired interval excludes zero."""
    if np.isnan(low) or np.isnan(high):
        return "undecided"
    if low > 0:
        return "better" if higher_is_better else "worse"
    if high < 0:
        return "worse" if higher_is_better else "better"
    return "no detectable difference"


def summarise(df: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """Per group: mean and 95% CI of `value` over finished (ok) runs, n runs, n diverged."""
    rows = []
    for key, g in df.groupby(by, sort=False):
        ok = g[g.status == "ok"][value]
        mean, lo, hi = bootstrap_ci(ok)
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)), mean=mean, low=lo, high=hi,
                         n=len(g), n_ok=len(ok), n_diverged=int((g.status == "diverged").sum())))
    return pd.DataFrame(rows)


def paired_differences(df: pd.DataFrame, value: str, cell: list[str], baseline: str = BASELINE_ACT) -> pd.DataFrame:
    """value(act) - value(baseline) for the same seed in the same cell; runs that did not
    finish ok on either side are dropped from the pair."""
    ok = df[df.status == "ok"]
    base = ok[ok.act == baseline][cell + ["seed", value]].rename(columns={value: "base"})
    other = ok[ok.act != baseline][cell + ["act", "seed", value]]
    pairs = other.merge(base, on=cell + ["seed"])
    pairs["diff"] = pairs[value] - pairs["base"]
    return pairs


def paired_summary(df: pd.DataFrame, value: str, cell: list[str], higher_is_better=True) -> pd.DataFrame:
    pairs = paired_differences(df, value, cell)
    rows = []
    for key, g in pairs.groupby(cell + ["act"], sort=False):
        mean, lo, hi = bootstrap_ci(g["diff"])
        rows.append(dict(zip(cell + ["act"], key), mean=mean, low=lo, high=hi, n_pairs=len(g),
                         verdict=verdict(lo, hi, higher_is_better)))
    return pd.DataFrame(rows)


# --- the study's layout: which runs form each knob's curve -----------------------------

def load(results_dir: Path) -> tuple[pd.DataFrame, dict]:
    """runs.csv and study.json of one profile; a clear error if they are missing or empty."""
    runs_csv, study_json = results_dir / "runs.csv", results_dir / "study.json"
    for p in (runs_csv, study_json):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: run `make results` (scripts/aggregate.py) first")
    runs = pd.read_csv(runs_csv)
    if runs.empty:
        raise ValueError(f"{runs_csv} has no runs: train the study first (`make train`)")
    return runs, json.loads(study_json.read_text())


def stress_rows(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """Long frame with `knob` and `level` columns: each knob's runs, the other knobs at
    baseline. Baseline runs appear once per knob, as the knob's baseline level."""
    parts = []
    for knob, k in study["knobs"].items():
        sel = runs.model == k["model"]
        for other, o in study["knobs"].items():
            if other != knob and o["model"] == k["model"]:
                sel &= runs[o["column"]] == o["baseline"]
        part = runs[sel & runs[k["column"]].isin(k["levels"])].copy()
        part["knob"], part["level"] = knob, part[k["column"]]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def act_order(acts) -> list[str]:
    present = set(acts)
    return [a for a in ACT_ORDER if a in present] + sorted(present - set(ACT_ORDER))
