"""Power by sample size: for N = 5, 10, 15 and 20 seeds per cell, each claim rule's share of
verdicts in two simulated worlds, beside the study's compute cost at that N.
- effect: the claim holds with the declared effect (conf/claims.yaml, calibration), as in
  scripts/calibrate_claims.py;
- observed: the planted means are the committed means (no effect planted or removed).
Noise is per cell (each cell's own residual vectors, scripts/calibrate_claims.py). The cost
is every scale's runs at N seeds, at the mean seconds per run of its committed records (one
thread per run), in core-hours.

    python scripts/power.py --results results/cpu --out results/cpu/power.csv
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

import calibrate_claims as K
from rectifiers.analysis import claims
from rectifiers.analysis.rules import RULES, Rules
from rectifiers.analysis.simulation import Shape, degenerate
from rectifiers.analysis.tidy import tidy
from rectifiers.analysis.worlds import SCALES_BY_CLAIM, World
from rectifiers.analysis.worlds import worlds as calibration_worlds

SEEDS = (5, 10, 15, 20)
COLUMNS = ["seeds", "claim", "world", "simulations", *claims.VERDICTS, "core_hours"]
SIMULATIONS = 500  # per world and N; the shares' standard error is at most 2.2 points


def core_hours(runs: pd.DataFrame, shape: Shape, seeds: int, rules: Rules = RULES) -> float:
    """The whole study at `seeds` seeds: per scale, cells x activations x seeds runs at the mean
    wall time of its committed records that finished."""
    t = tidy(runs, None, rules)
    done = t[t.status.isin(["ok", "diverged"])]
    total = 0.0
    for scale, cells in shape.cells.items():
        here = done[done.scale == scale]
        if here.empty:
            raise ValueError(f"power: no committed run of scale {scale} to take its cost from")
        total += len(cells) * len(shape.acts[scale]) * seeds * here.wall_time_s.mean()
    return total / 3600


def worlds(shape: Shape, rules: Rules) -> list[World]:
    effect = [w for w in calibration_worlds(shape, rules) if w.role == "effect"]
    observed = [World(c, "observed", "observed", "the committed means",
                      {k: v.copy() for k, v in shape.means.items()}) for c in SCALES_BY_CLAIM]
    return effect + observed


def table(runs: pd.DataFrame, epochs: pd.DataFrame, n_sim: int = SIMULATIONS, seeds=SEEDS, jobs: int = 1,
          rules: Rules = RULES) -> pd.DataFrame:
    todo = []
    for n in seeds:
        shape = K.shape_from(runs, epochs, rules, seeds=n, noise="cell")
        if degenerate(shape):
            raise K.DegenerateNoise("; ".join(degenerate(shape)))
        todo += [(shape, i, w) for i, w in enumerate(worlds(shape, rules))]
    if jobs > 1:
        from joblib import Parallel, delayed
        rows = Parallel(n_jobs=jobs)(delayed(K.one_world)(sh, w, i, n_sim, rules, K.RNG_SEED) for sh, i, w in todo)
    else:
        rows = [K.one_world(sh, w, i, n_sim, rules, K.RNG_SEED) for sh, i, w in todo]
    cost = {n: core_hours(runs, todo[0][0], n, rules) for n in seeds}
    out = pd.DataFrame(rows)
    out["core_hours"] = out.seeds.map(cost)
    return out[COLUMNS]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=Path("results/cpu"))
    ap.add_argument("--out", type=Path, help="CSV to write (default: <results>/power.csv)")
    ap.add_argument("--simulations", type=int, default=SIMULATIONS)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    runs_csv, epochs_csv = args.results / "runs.csv", args.results / "epochs.csv"
    if not (runs_csv.is_file() and epochs_csv.is_file()):
        sys.exit(f"power: {runs_csv} or {epochs_csv} is missing: run `make results` first")
    runs, epochs = pd.read_csv(runs_csv), pd.read_csv(epochs_csv)
    out = args.out or args.results / "power.csv"
    if not K.has_design_runs(runs, out, COLUMNS):
        return 0
    try:
        tab = table(runs, epochs, args.simulations, args.seeds, args.jobs)
    except (K.DegenerateNoise, ValueError) as e:
        print(f"power: {e}", file=sys.stderr)
        return 2
    tab.round(4).to_csv(out, index=False)
    print(tab.to_string(index=False))
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
