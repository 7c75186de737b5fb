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
from rectifiers.analysis.rules import Cell, cell_key

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


def load(results_dir: Path, *tables: str, quiet: bool = False) -> Results:
    """study.json and the named tables ("runs", "epochs", "layers") of results_dir. runs.csv
    gains the outcome columns of rectifiers.analysis.tidy.outcomes; every table gains `budget`
    (training images x epochs of its run), so that the stress grid can be told apart from
    longer runs of the same cell. A missing or empty file, or an activation without a name,
    raises ResultsError with the fix. Cells without a finished run are a warning, unless quiet
    (diagnose, which says so in its advice)."""
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
    if missing and not quiet:
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


def load_tuned(results_dir: Path) -> pd.DataFrame:
    """tuned.csv (the tuned study's runs, scored on validation images; scripts/aggregate.py),
    no rows until the study has any; ResultsError if the file is missing."""
    path = Path(results_dir) / "tuned.csv"
    if not path.is_file():
        raise ResultsError(f"{path} is missing: run `make results` (scripts/aggregate.py --profile <profile>)")
    df = pd.read_csv(path)
    return df if len(df) else pd.DataFrame(columns=["run_id", "depth", "act", "lr", "seed", "status",
                                                    "final_val_acc", "final_test_acc"])


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
    cell, all_cells = placed(df, study, budget), cells(study)
    parts = []
    for knob, k in study["knobs"].items():
        keys = [c.key for c in all_cells if c.knob == knob and c.kind != "baseline"]
        part = df[cell.isin(keys + ["baseline"] * (len(k["levels"]) > 1))].copy()
        part["knob"], part["level"] = knob, part[k["column"]]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def placed(df: pd.DataFrame, study: dict, budget: float | None = None) -> pd.Series:
    """The stress-grid cell of each row (a key of `cells`, None outside the grid), by
    rectifiers.analysis.tidy.grid_cells with study.json's design: rows at `budget` (images x
    epochs; every row if None)."""
    design = stress_design(study)
    in_grid = pd.Series(True if budget is None else np.isclose(df.budget, budget), index=df.index)
    return tidy.grid_cells(df, design, design["reference"], in_grid)


def stress_design(study: dict) -> dict:
    """study.json's stress grid in the shape of conf/claims.yaml's design.stress (model,
    baseline {column: level}, knobs {column: [stress levels]}), plus its reference model: the
    grid the studies swept, whose levels the claims' design reads too (conf/levels.yaml)."""
    stress = {k: v for k, v in study["knobs"].items() if len(v["levels"]) > 1}
    ref = [v["model"] for v in study["knobs"].values() if len(v["levels"]) == 1]
    return {"model": next(v["model"] for v in stress.values()) if stress else None,
            "baseline": {v["column"]: v["baseline"] for v in stress.values()},
            "knobs": {v["column"]: [lv for lv in v["levels"] if lv != v["baseline"]] for v in stress.values()},
            "reference": ref[0] if ref else None}


def cells(study: dict) -> list[Cell]:
    """Every cell of the study once, in table order. A knob with several levels is a stress
    knob: its first level is the shared baseline, its later levels are stress cells, the
    last one the most stressful. A knob with one level (the ResNet) is a reference cell.
    Each cell's knob is its knob in study.json; its key, its name in rectifiers.analysis.tidy."""
    study_knobs = study["knobs"]
    stress = [k for k, v in study_knobs.items() if len(v["levels"]) > 1]
    out = [Cell("baseline", "baseline", stress[0], study_knobs[stress[0]]["levels"][0], "baseline")] if stress else []
    for k in stress:
        column = study_knobs[k]["column"]
        for level in study_knobs[k]["levels"][1:]:
            out.append(Cell(cell_key(column, level), "stress", k, level, f"{knobs.KNOBS[column].short} {level:g}"))
    for k, v in study_knobs.items():
        if len(v["levels"]) == 1:
            level = v["levels"][0]
            label = (f"ResNet-{level:g}" if v["model"] == "resnet" else
                     f"{v['model']} {knobs.KNOBS[v['column']].short} {level:g}")
            out.append(Cell(tidy.reference_name(v["model"], level), "reference", k, level, label))
    return out


def cell_frame(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """The stress grid's runs (at its budget, grid_budget) with a `cell` column (a key of
    `cells`), placed by rectifiers.analysis.tidy.grid_cells, and their `knob` and `level`;
    the shared baseline runs appear once, as cell 'baseline'."""
    cell = placed(runs, study, grid_budget(runs))
    parts = [runs[cell == c.key].assign(knob=c.knob, level=c.level, cell=c.key) for c in cells(study)]
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
