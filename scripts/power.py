"""Power by sample size: for N = 5, 10, 15 and 20 seeds per cell, each claim rule's share of
verdicts in two simulated worlds, beside the study's compute cost at that N.
- effect: the claim holds with the declared effect (conf/claims.yaml, calibration), as in
  scripts/calibrate_claims.py;
- observed: the planted means are the committed means (no effect planted or removed).
Noise is per cell (each cell's own residual vectors, scripts/calibrate_claims.py). The cost
is every scale's runs at N seeds, at the mean seconds per run of its committed records (one
thread per run), in core-hours. The table is rectifiers.analysis.power.

    python scripts/power.py --results results/cpu --out results/cpu/power.csv
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from rectifiers.analysis import calibration, power
from rectifiers.experiment.study import scale_activations


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=Path("results/cpu"))
    ap.add_argument("--out", type=Path, help="CSV to write (default: <results>/power.csv)")
    ap.add_argument("--simulations", type=int, default=power.SIMULATIONS)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(power.SEEDS))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    runs_csv, epochs_csv = args.results / "runs.csv", args.results / "epochs.csv"
    if not (runs_csv.is_file() and epochs_csv.is_file()):
        sys.exit(f"power: {runs_csv} or {epochs_csv} is missing: run `make results` first")
    runs, epochs = pd.read_csv(runs_csv), pd.read_csv(epochs_csv)
    out = args.out or args.results / "power.csv"
    why = calibration.off_design(runs)
    if why:  # the claims stay "not yet run": an empty table
        print(f"{out.name}: {why}")
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(columns=power.COLUMNS).to_csv(out, index=False)
        return 0
    try:
        tab = power.table(runs, epochs, scale_activations(), args.simulations, args.seeds, args.jobs)
    except (calibration.DegenerateNoise, ValueError) as e:
        print(f"power: {e}", file=sys.stderr)
        return 2
    tab.round(4).to_csv(out, index=False)
    print(tab.to_string(index=False))
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
