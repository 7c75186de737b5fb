"""The results of a study, read once: the one loader (`load`, with its one error type
`ResultsError`) and the study's layout (which runs form each knob's curve, the cells in
table order). Every figure, table and number script reads results/<profile>/ through this
module; what the activations and knobs are called is rectifiers.activations and
rectifiers.knobs.

What a diverged run contributes to each outcome is defined once, in rectifiers.analysis.tidy
(`outcomes`): the loader adds those outcome columns (acc, dead_final, dead_peak, diverged,
collapsed) to runs.csv, so that no script can drop a diverged run by accident.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rectifiers import activations, knobs
from rectifiers.analysis import stats, tidy

log = logging.getLogger("rectifiers")

FILES = {"runs": "runs.csv", "epochs": "epochs.csv", "layers": "layers.csv"}


class ResultsError(ValueError):
    """The results a script needs are missing, empty or incomplete (a ValueError: callers that
    catch bad input catch it too)."""


# --- loading -------------------------------------------------------------------------

@dataclass
class Results:
    dir: Path
    study: dict
    runs: pd.DataFrame | None = None
    epochs: pd.DataFrame | None = None
    layers: pd.DataFrame | None = None
    files: list[Path] = field(default_factory=list)  # every file read, for the provenance

    def tidy(self) -> pd.DataFrame:
        """runs.csv as the claims read it (rectifiers.analysis.tidy.tidy)."""
        return tidy.tidy(self.runs, self.epochs)


def load(results_dir: Path, *tables: str) -> Results:
    """study.json and the named tables ("runs", "epochs", "layers") of results_dir. runs.csv
    gains the outcome columns of rectifiers.analysis.tidy.outcomes; every table gains `budget`
    (training images x epochs of its run), so that the stress grid can be told apart from
    longer runs of the same cell. A missing or empty file, or an activation without a name,
    raises ResultsError with the fix."""
    results_dir = Path(results_dir)
    need = list(dict.fromkeys(["runs", *tables]))  # the runs define every run's budget
    paths = [results_dir / "study.json"] + [results_dir / FILES[t] for t in need]
    fix = f"run `make results` (scripts/aggregate.py --profile <profile>) to write {results_dir}/"

    def check(p: Path) -> None:
        if not p.is_file():
            raise ResultsError(f"{p} is missing: {fix}")
        if p.stat().st_size == 0:
            raise ResultsError(f"{p} is empty: {fix}")
    check(paths[0])
    res = Results(dir=results_dir, study=json.loads(paths[0].read_text()), files=paths)
    missing = len(res.study.get("missing", []))
    if missing:
        log.warning("%d of %s cells of the study have no finished run (listed in %s); what is shown uses "
                    "the runs there are", missing, res.study.get("cells", "?"), paths[0])
    budget = None
    for t in need:  # runs.csv first: without runs, say so before anything else
        check(results_dir / FILES[t])
        df = pd.read_csv(results_dir / FILES[t])
        if df.empty:
            raise ResultsError(f"{results_dir / FILES[t]} has a header but no runs: train the study "
                               f"(`make train`), then {fix}")
        unknown = set(df.act) - set(activations.by_label())
        if unknown:
            raise ResultsError(f"activation(s) {sorted(unknown)} have no entry in the activation table: "
                               "add them to rectifiers.activations.ACTIVATIONS")
        if t == "runs":
            df = tidy.outcomes(df)
            df["budget"] = df.train_size * df.epochs
            budget = df.set_index("run_id").budget
        else:
            df["budget"] = df.run_id.map(budget)
        setattr(res, t, df)
    return res


def require(df: pd.DataFrame, what: str, res: Results) -> pd.DataFrame:
    """`df` if it has rows; otherwise the output cannot be made: say what is missing."""
    if df.empty:
        raise ResultsError(f"no {what} in {res.dir}/: that part of the study has not finished; "
                           "train it (`make train`) and run `make results`")
    return df


# --- the study's layout: which runs form each knob's curve -----------------------------

def grid_budget(runs: pd.DataFrame) -> float:
    """The stress grid's training budget (images x epochs): the smallest of the plain CNN's.
    Longer runs of the same cells (the long plain runs, the trained ResNet) are not part of
    the stress curves."""
    plain = runs.loc[runs.model == "plain", "budget"].dropna()
    return float(plain.min()) if len(plain) else np.nan


def stress_rows(df: pd.DataFrame, study: dict, budget: float | None = None) -> pd.DataFrame:
    """Long frame with `knob` and `level` columns: each knob's runs of the stress grid (at
    `budget`; all rows if None), the other knobs at baseline. Baseline runs appear once per
    knob, as the knob's baseline level."""
    if budget is not None and "budget" in df:
        df = df[np.isclose(df.budget, budget)]
    parts = []
    for knob, k in study["knobs"].items():
        sel = df.model == k["model"]
        for other, o in study["knobs"].items():
            if other != knob and o["model"] == k["model"]:
                sel &= df[o["column"]] == o["baseline"]
        part = df[sel & df[k["column"]].isin(k["levels"])].copy()
        part["knob"], part["level"] = knob, part[k["column"]]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def cells(study: dict) -> list[dict]:
    """Every cell of the study once, in table order. A knob with several levels is a stress
    knob: its first level is the shared baseline, its later levels are stress cells, the
    last one the most stressful. A knob with one level (the ResNet) is a reference cell.
    Each dict: key, kind ('baseline' | 'stress' | 'reference'), knob, level, label."""
    study_knobs = study["knobs"]
    stress = [k for k, v in study_knobs.items() if len(v["levels"]) > 1]
    out = [{"key": "baseline", "kind": "baseline", "knob": stress[0], "level": study_knobs[stress[0]]["levels"][0],
            "label": "baseline"}] if stress else []
    for k in stress:
        short = knobs.KNOBS[study_knobs[k]["column"]].short
        for level in study_knobs[k]["levels"][1:]:
            out.append({"key": f"{k}={level:g}", "kind": "stress", "knob": k, "level": level,
                        "label": f"{short} {level:g}"})
    for k, v in study_knobs.items():
        if len(v["levels"]) == 1:
            level = v["levels"][0]
            label = (f"ResNet-{level:g}" if v["model"] == "resnet" else
                     f"{v['model']} {knobs.KNOBS[v['column']].short} {level:g}")
            out.append({"key": k, "kind": "reference", "knob": k, "level": level, "label": label})
    return out


def cell_frame(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """The stress grid's runs with a `cell` column (a key of `cells`); the shared baseline
    runs appear once, as cell 'baseline'."""
    rows = stress_rows(runs, study, grid_budget(runs))
    parts = [rows[(rows.knob == c["knob"]) & (rows.level == c["level"])].assign(cell=c["key"])
             for c in cells(study)]
    return pd.concat(parts, ignore_index=True)


def plain_knobs(study: dict) -> list[str]:
    """The plain-CNN stress knobs, in study.json order (lr, batch_size, depth, init_bias)."""
    return [k for k, v in study["knobs"].items() if v["model"] == "plain" and len(v["levels"]) > 1]


def levels(study: dict, knob: str) -> list:
    """A knob's levels in study.json order, the baseline first."""
    k = study["knobs"][knob]
    return [k["baseline"]] + [lv for lv in k["levels"] if lv != k["baseline"]]


def deadliest_levels(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """Per plain knob, its deadliest level: the one with the highest mean ReLU peak dead
    ratio (`level`), and that mean (`relu_peak`); not necessarily its last, most stressful
    level. Knobs without ReLU runs are left out."""
    rows = stress_rows(runs, study, grid_budget(runs))
    relu = rows[(rows.act == activations.REFERENCE) & rows.knob.isin(plain_knobs(study))]
    peak = relu.groupby(["knob", "level"], sort=False).dead_peak.mean().dropna()
    if peak.empty:
        return pd.DataFrame(columns=["level", "relu_peak"])
    best = peak.groupby(level="knob", sort=False).idxmax()
    return pd.DataFrame({"level": [lv for _, lv in best], "relu_peak": peak[best.tolist()].to_numpy()},
                        index=pd.Index(best.index, name="knob"))


def final_epoch(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of each run's last measurement."""
    return df[df.epoch == df.groupby("run_id").epoch.transform("max")]


# --- summaries over seeds --------------------------------------------------------------

def over_seeds(df: pd.DataFrame, value: str, by: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Per group: the mean of `value` over its runs, the (1 - alpha) t interval of that mean
    (NaN with fewer than 2 runs or no spread: a single run has no interval), the number of
    runs with a value, and how many of the group's runs diverged. Use the outcome columns
    (acc, dead_final, dead_peak), in which a diverged run has its declared value. Every value is
    a fraction, so the interval is cut to [0, 1]: with few seeds a t interval can leave the
    range that the mean cannot."""
    rows = []
    for key, g in df.groupby(by, sort=False):
        t = stats.t_test(g[value], alpha=alpha)
        status = g.status if "status" in g else pd.Series(dtype=object)
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)), mean=t.mean,
                         low=float(np.clip(t.low, 0, 1)), high=float(np.clip(t.high, 0, 1)),
                         n=t.n, n_runs=len(g), n_diverged=int((status == "diverged").sum())))
    return pd.DataFrame(rows, columns=by + ["mean", "low", "high", "n", "n_runs", "n_diverged"])
