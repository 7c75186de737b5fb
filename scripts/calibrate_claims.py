"""Calibrate the claim rules (src/rectifiers/analysis/claims.py) by simulation.

Each simulated table has the study's shape (the stress grid's cells, the long plain runs at
their depths and the trained ResNet, the same activations and seeds): planted means plus seed
noise resampled from the committed runs (rectifiers.analysis.simulation). Scales whose runs
are not committed yet borrow the noise of the nearest committed cells. The method is
docs/design.md section 6.

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

import numpy as np
import pandas as pd

from rectifiers.analysis import claims, simulation
from rectifiers.analysis.bars import MAX_FALSE_VERDICT, failures, unreachable
from rectifiers.analysis.rules import RULES, Rules
from rectifiers.analysis.simulation import NOISE_MODELS, Shape, degenerate, noiseless, simulate
from rectifiers.analysis.tidy import tidy
from rectifiers.analysis.worlds import SCALES_BY_CLAIM, World, worlds
from rectifiers.spec.study import scale_activations

RNG_SEED = 20240611


def shape_from(runs: pd.DataFrame, epochs: pd.DataFrame | None, rules: Rules = RULES, seeds: int = 5,
               noise: str = "pooled") -> Shape:
    """simulation.shape_from with the activations the studies sweep (conf/study/, composed by
    Hydra, which analysis/ does not load)."""
    return simulation.shape_from(runs, epochs, scale_activations(), rules, seeds, noise)


def check_world(shape: Shape, world: World) -> None:
    """A world the simulation can run: every scale its claim reads has cells and activations,
    and every planted mean there is a number."""
    for scale in SCALES_BY_CLAIM[world.claim]:
        if not shape.cells.get(scale) or not shape.acts.get(scale):
            raise SimulationError(f"claim {world.claim}, {world.world} world: scale {scale} has no cells or "
                                  "activations to simulate")
        for (sc, outcome), m in world.means.items():
            if sc == scale and m.isna().any().any():
                raise SimulationError(f"claim {world.claim}, {world.world} world: no mean to plant for {scale}, "
                                      f"{outcome} in {', '.join(m.index[m.isna().any(axis=1)])}")


def run_world(shape: Shape, world: World, n_sim: int, rng, rules: Rules) -> dict:
    check_world(shape, world)
    f = claims.CLAIM_FUNCS[world.claim]
    truth = [r["estimate"] for r in f(noiseless(shape, world.means), rules).comparisons]
    counts = dict.fromkeys(claims.VERDICTS, 0)
    covered = intervals = 0
    for _ in range(n_sim):
        v = f(simulate(shape, world.means, rng, world.slope, SCALES_BY_CLAIM[world.claim]), rules)
        counts[v.verdict] += 1
        for r, true in zip(v.comparisons, truth):
            if not (np.isnan(r["low"]) or np.isnan(true)):
                intervals += 1
                covered += r["low"] <= true <= r["high"]
    return dict(claim=world.claim, world=world.world, role=world.role, description=world.description,
                simulations=n_sim, **{v: n / n_sim for v, n in counts.items()},
                coverage=covered / intervals if intervals else np.nan, intervals=intervals)


def one_world(shape: Shape, world: World, index: int, n_sim: int, rules: Rules, seed: int) -> dict:
    # a generator per world, so the numbers do not depend on how worlds are shared out to jobs
    row = run_world(shape, world, n_sim, np.random.default_rng([seed, index]), rules)
    return dict(noise=shape.noise, seeds=shape.seeds, **row)


class SimulationError(ValueError):
    """The simulation itself is broken (a bug, not a finding about a rule)."""


class DegenerateNoise(SimulationError):
    pass


def calibrate(runs: pd.DataFrame, epochs: pd.DataFrame | None, n_sim: int, rules: Rules = RULES,
              seed: int = RNG_SEED, claims=range(1, 7), jobs: int = 1, seeds: int = 5,
              noise=NOISE_MODELS) -> pd.DataFrame:
    """One row per (noise model, claim, world), in the order of `worlds`. Raises
    DegenerateNoise, naming the scale and outcome, if a compared outcome has no noise."""
    todo = []
    for model in noise:
        shape = shape_from(runs, epochs, rules, seeds=seeds, noise=model)
        bad = degenerate(shape)
        if bad:
            raise DegenerateNoise(f"{model} noise: " + "; ".join(bad))
        todo += [(shape, i, w) for i, w in enumerate(worlds(shape, rules)) if w.claim in claims]
    if jobs > 1:
        from joblib import Parallel, delayed
        rows = Parallel(n_jobs=jobs)(delayed(one_world)(sh, w, i, n_sim, rules, seed) for sh, i, w in todo)
    else:
        rows = [one_world(sh, w, i, n_sim, rules, seed) for sh, i, w in todo]
    return pd.DataFrame(rows)


def claim3_level(runs: pd.DataFrame, epochs: pd.DataFrame | None, seeds: int, rules: Rules = RULES,
                 seed: int = RNG_SEED) -> dict:
    """Claim 3's sensitivity analysis (a), as conf/claims.yaml's sensitivity block declares it:
    in its true world under that noise, the level at which the rule's contradiction test (the
    smallest Holm-adjusted p-value of 'worse by more than the margin') rejects in the declared
    share of the simulations."""
    spec = rules.sensitivity["claim3"]["calibrated_level"]
    shape = shape_from(runs, epochs, rules, seeds=seeds, noise=spec["noise"])
    index, world = next((i, w) for i, w in enumerate(worlds(shape, rules)) if w.claim == 3 and w.world == spec["world"])
    check_world(shape, world)
    rng = np.random.default_rng([seed, index, 3])
    smallest = [min(r["p_adj"] for r in claims.claim3(simulate(shape, world.means, rng, 0.0, SCALES_BY_CLAIM[3]), rules).comparisons)
                for _ in range(spec["simulations"])]
    level = simulation.calibrated_level(smallest, spec["false_contradicted"])
    return dict(claim=3, noise=spec["noise"], world=spec["world"], seeds=seeds, simulations=spec["simulations"],
                target=spec["false_contradicted"], level=level,
                contradicted_at_level=float(np.mean(np.less(smallest, level))),
                contradicted_at_alpha=float(np.mean(np.less(smallest, rules.alpha))))


LEVEL_FILE = "claim3_level.csv"
DRIVERS_FILE = "claims_calibration_drivers.csv"
# the key of a comparison's Holm-adjusted p-value whose rejection gives the verdict, and the share of
# alpha it is tested at: what a false verdict of these rules is made of (claims.py)
DECIDING = {(1, claims.SUPPORTED): ("p_adj", 1.0), (2, claims.SUPPORTED): ("p_adj", 1.0),
            (3, claims.CONTRADICTED): ("p_adj", 1.0), (5, claims.CONTRADICTED): ("p_adj_outside", 0.5)}


def drivers(shape: Shape, world: World, verdict: str, n_sim: int, rng, rules: Rules = RULES, top: int = 3) -> list[dict]:
    """Which comparisons make a rule's false verdict in a world: among the simulations that give
    `verdict`, the share in which each comparison's deciding test rejected, and the share of those
    in which its simulated values had no spread (an exact point passes every test: stats.py)."""
    f, (key, share) = claims.CLAIM_FUNCS[world.claim], DECIDING[(world.claim, verdict)]
    hits, exact, false = {}, {}, 0
    for _ in range(n_sim):
        v = f(simulate(shape, world.means, rng, world.slope, SCALES_BY_CLAIM[world.claim]), rules)
        if v.verdict != verdict:
            continue
        false += 1
        for r in v.comparisons:
            if r.get(key, 1.0) < share * rules.alpha:
                hits[r["label"]] = hits.get(r["label"], 0) + 1
                exact[r["label"]] = exact.get(r["label"], 0) + (r["low"] == r["high"])
    ranked = sorted(hits, key=lambda k: -hits[k])[:top]
    return [dict(noise=shape.noise, claim=world.claim, world=world.world, verdict=verdict, simulations=n_sim,
                 false_verdicts=false, comparison=k, share=hits[k] / false, exact=exact[k] / hits[k]) for k in ranked]


def miss_drivers(runs: pd.DataFrame, epochs: pd.DataFrame | None, table: pd.DataFrame, seeds: int,
                 rules: Rules = RULES, seed: int = RNG_SEED) -> pd.DataFrame:
    """drivers() for every false verdict above the bar whose rule names its deciding test."""
    rows = []
    for model, g in table.groupby("noise", sort=False):
        shape = shape_from(runs, epochs, rules, seeds=seeds, noise=model)
        for i, w in enumerate(worlds(shape, rules)):
            row = g[(g.claim == w.claim) & (g.world == w.world)]
            verdict = {"true": claims.CONTRADICTED, "false": claims.SUPPORTED}.get(w.role)
            if len(row) and verdict and (w.claim, verdict) in DECIDING and row[verdict].iloc[0] > MAX_FALSE_VERDICT:
                rows += drivers(shape, w, verdict, int(row.simulations.iloc[0]), np.random.default_rng([seed, i, 7]), rules)
    return pd.DataFrame(rows, columns=["noise", "claim", "world", "verdict", "simulations", "false_verdicts",
                                       "comparison", "share", "exact"])

COLUMNS = ["noise", "seeds", "claim", "world", "role", "description", "simulations", *claims.VERDICTS,
           "coverage", "intervals"]


def has_design_runs(runs: pd.DataFrame, out: Path, columns: list[str]) -> bool:
    """True if some run falls in the claims' design (conf/claims.yaml). Otherwise (a profile
    such as smoke, whose runs are of other sizes) there is nothing to simulate with: an empty
    table is written, and the claims stay "not yet run"."""
    if tidy(runs).scale.notna().any():
        return True
    print(f"{out.name}: no run of {runs.profile.iloc[0] if len(runs) else 'this profile'} falls in the claims' "
          "design (conf/claims.yaml), so there is no noise to simulate with; writing an empty table")
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns=columns).to_csv(out, index=False)
    return False


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
    if not has_design_runs(runs, out, COLUMNS):
        for name, columns in ((LEVEL_FILE, ["claim", "level"]), (DRIVERS_FILE, ["claim", "comparison"])):
            pd.DataFrame(columns=columns).to_csv(out.with_name(name), index=False)
        return 0
    try:
        table = calibrate(runs, epochs, args.simulations, claims=args.claims, jobs=args.jobs,
                          seeds=args.seeds, noise=args.noise)
        level = claim3_level(runs, epochs, args.seeds) if 3 in args.claims else None
        missed = miss_drivers(runs, epochs, table, args.seeds)
    except SimulationError as e:
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
    print(f"{len(table)} worlds x {args.simulations} simulations at {args.seeds} seeds in {time.time() - start:.0f} s -> {out}")
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
