"""Calibrate the claim rules (src/rectifiers/analysis/claims.py) by simulation.

Each simulated table has the study's shape (the stress grid's cells, the long plain runs at
their depths and the trained ResNet, the same activations and seeds): planted means plus seed
noise resampled from the committed runs (rectifiers.analysis.simulation). Scales whose runs
are not committed yet borrow the noise of the nearest committed cells. The method is
docs/design.md section 6; the calibration itself is rectifiers.analysis.calibration.

Per claim, three worlds (the rows of the CSV; rectifiers.analysis.worlds): true, false and
effect, whose share of 'supported' is the rule's power.
Coverage is the share of the rule's printed intervals (paired t, slope) that contain the
planted value. A rule that says "contradicted" in more than 5% of a true world, "supported" in
more than 5% of a false world, or whose intervals cover less than 93%, misses a bar: a finding,
printed and written to the table, which the paper marks beside the verdict. A verdict that a
claim's rule gives in none of its worlds is reported (unreachable): a bar on it is met
trivially. Exit status 2 only where the simulation itself is broken (SimulationError:
degenerate noise, a scale with nothing to simulate, a world with nothing planted).

It also writes claim 3's calibrated level (conf/claims.yaml, sensitivity): the level at which
its rule says "contradicted" in the declared share of its true world, beside the CSV as
claim3_level.csv.

    python scripts/calibrate_claims.py --results results/cpu --out results/cpu/claims_calibration.csv
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from rectifiers.analysis import calibration as C
from rectifiers.analysis import claims
from rectifiers.analysis.bars import failures, unreachable
from rectifiers.analysis.rules import RULES
from rectifiers.analysis.simulation import NOISE_MODELS
from rectifiers.experiment.study import scale_activations

LEVEL_FILE = "claim3_level.csv"
DRIVERS_FILE = "claims_calibration_drivers.csv"
COLUMNS = ["noise", "seeds", "claim", "world", "role", "description", "simulations", *claims.VERDICTS,
           "coverage", "intervals"]


def write_empty(out: Path, why: str) -> None:
    """The calibration's tables without rows: the claims stay "not yet run"."""
    print(f"{out.name}: {why}")
    out.parent.mkdir(parents=True, exist_ok=True)
    for name, columns in ((out.name, COLUMNS), (LEVEL_FILE, ["claim", "level"]),
                          (DRIVERS_FILE, ["claim", "comparison"])):
        pd.DataFrame(columns=columns).to_csv(out.with_name(name), index=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=Path("results/cpu"))
    ap.add_argument("--out", type=Path, help="CSV to write (default: <results>/claims_calibration.csv)")
    ap.add_argument("--simulations", type=int, default=RULES.calibration["simulations"])
    ap.add_argument("--claims", type=int, nargs="+", default=list(range(1, 7)), help="only these claims")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes (one world each)")
    ap.add_argument("--seeds", type=int, help="seeds per cell of the simulated study (default: the design's, "
                    "recorded or not: <results>/study.json)")
    ap.add_argument("--noise", nargs="+", choices=NOISE_MODELS, default=list(NOISE_MODELS))
    args = ap.parse_args(argv)
    runs_csv, epochs_csv = args.results / "runs.csv", args.results / "epochs.csv"
    if not runs_csv.is_file():
        sys.exit(f"calibrate_claims: {runs_csv} is missing: run `make results` first")
    epochs = pd.read_csv(epochs_csv) if epochs_csv.is_file() else None
    if args.seeds is None:
        study = json.loads((args.results / "study.json").read_text())  # the design: recorded and missing seeds
        args.seeds = len(set(study["seeds"]) | {m["seed"] for m in study["missing"]})
    start = time.time()
    runs = pd.read_csv(runs_csv)
    out = args.out or args.results / "claims_calibration.csv"
    why = C.off_design(runs)
    if why:
        write_empty(out, why)
        return 0
    acts = scale_activations()  # the activations each scale's studies sweep (conf/study/, by Hydra)
    try:
        table = C.calibrate(runs, epochs, acts, args.simulations, claims=args.claims, jobs=args.jobs,
                            seeds=args.seeds, noise=args.noise)
        level = C.claim3_level(runs, epochs, acts, args.seeds) if 3 in args.claims else None
        missed = C.miss_drivers(runs, epochs, acts, table, args.seeds)
    except C.SimulationError as e:
        print(f"calibrate_claims: the simulation is broken: {e}. Check results/<profile>/runs.csv (a scale whose "
              "runs have no seed-to-seed spread, or none at all) and conf/study/", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    table.round(4).to_csv(out, index=False)
    if level is not None:
        pd.DataFrame([level]).round(6).to_csv(out.with_name(LEVEL_FILE), index=False)
    missed.round(4).to_csv(out.with_name(DRIVERS_FILE), index=False)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table[["noise", "claim", "world", "simulations", *claims.VERDICTS,
                     "coverage"]].to_string(index=False))
    print(f"{len(table)} worlds x {args.simulations} simulations at {args.seeds} seeds in "
          f"{time.time() - start:.0f} s -> {out}")
    if level is not None:
        print(f"claim 3's calibrated level ({level['noise']} noise, {level['world']} world): {level['level']:.4g}, "
              f"'contradicted' in {level['contradicted_at_level']:.1%} there (at alpha: "
              f"{level['contradicted_at_alpha']:.1%}) -> {out.with_name(LEVEL_FILE)}")
    # a missed bar is a finding: the table keeps it and the paper marks the verdict (docs/design.md section 6)
    for model, g in table.groupby("noise", sort=False):
        for miss in failures(g):
            print(f"MISSED ({model} noise)", miss, file=sys.stderr)
        for claim, never in unreachable(g).items():
            print(f"REPORTED ({model} noise) claim {claim}: never {' or '.join(never)} in any world, so a bar on "
                  "that verdict is met trivially", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
