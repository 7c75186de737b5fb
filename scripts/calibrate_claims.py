"""Calibrate the claim rules (src/rectifiers/analysis/claims.py) by simulation.

Each simulated table has the study's shape (the stress grid's cells, the long plain runs at
their depths and the trained ResNet, the same activations and seeds): planted means plus seed
noise resampled from the committed runs (rectifiers.analysis.simulation). Scales whose runs
are not committed yet borrow the noise of the nearest committed cells. The method is
docs/design.md section 6.

Per claim, three worlds (the rows of the CSV):
- true: the claim holds, at the edge where a false "contradicted" is most likely;
- false: the claim fails, at the edge where a false "supported" is most likely;
- effect: the claim holds with the declared effect size (conf/claims.yaml, calibration):
  P(supported) there is the rule's power.
Coverage is the share of the rule's printed intervals (paired t, slope) that contain the
planted value. Exit status 1 if a rule says "contradicted" in more than 5% of a true world,
"supported" in more than 5% of a false world, or its intervals cover less than 93%. A verdict
that a claim's rule gives in none of its worlds is reported (unreachable): a bar on it is met
trivially.

    python scripts/calibrate_claims.py --results results/cpu --out results/cpu/claims_calibration.csv
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rectifiers.analysis import claims, simulation
from rectifiers.analysis.rules import RULES, Rules, cell_key
from rectifiers.analysis.simulation import NOISE_MODELS, Plant, Shape, degenerate, noiseless, simulate
from rectifiers.analysis.tidy import tidy
from rectifiers.spec.study import scale_activations

MAX_FALSE_VERDICT = 0.05
MIN_COVERAGE = 0.93
RNG_SEED = 20240611
DIAGNOSIS_SLOPE = 0.3   # effect world of claim 6: 3 points of accuracy lost per 0.1 of epoch-1 dead ratio
SCALES = {1: ["stress"], 2: ["stress"], 3: ["long"], 4: ["long"], 5: ["stress", "trained"], 6: ["stress"]}


def shape_from(runs: pd.DataFrame, epochs: pd.DataFrame | None, rules: Rules = RULES, seeds: int = 5,
               noise: str = "pooled") -> Shape:
    """simulation.shape_from with the activations the studies sweep (conf/study/, composed by
    Hydra, which analysis/ does not load)."""
    return simulation.shape_from(runs, epochs, scale_activations(), rules, seeds, noise)


# --- the worlds -------------------------------------------------------------------------

@dataclass(frozen=True)
class World:
    """One simulated world of a claim: its planted means, and how its verdicts are judged."""
    claim: int
    world: str            # its name in the table: true, false, effect, false (ResNet), ...
    role: str             # true: no false 'contradicted'; false: no false 'supported'; effect: power
    description: str      # what is planted, in words
    means: dict           # (scale, outcome) -> cell x act means
    slope: float = 0.0    # accuracy lost per unit of epoch-1 dead ratio (claim 6's diagnosis)


def dead_worlds(plant: Plant, rules: Rules) -> list[World]:
    """Claims 1 and 2, on the stress grid's dead ratios."""
    dm, thr, eff = rules.dead_margin, rules.dead_threshold, rules.calibration["dead_effect"]
    harsh = rules.harshest_cells()
    at_thr = plant.relu_peak(lambda c: thr)
    return [
        World(1, "true", "true", f"ReLU's mean peak dead ratio exactly {thr:g} in every cell", at_thr),
        World(1, "false", "false", f"ReLU's mean peak dead ratio exactly {thr:g} in every cell", at_thr),
        World(1, "effect", "effect", f"{thr + eff:g} in the harshest cells, {thr - eff:g} elsewhere",
              plant.relu_peak(lambda c: thr + eff if c in harsh else thr - eff)),
        World(2, "true", "true", f"every Leaky slope ends with {dm:g} less dead ratio than ReLU in every cell",
              plant.leaky_dead(lambda c: dm)),
        World(2, "false", "false", "Leaky ends with ReLU's dead ratio everywhere", plant.leaky_dead(lambda c: 0.0)),
        World(2, "effect", "effect", f"Leaky {eff:g} below ReLU in the harshest cells, equal elsewhere",
              plant.leaky_dead(lambda c: eff if c in harsh else 0.0)),
    ]


def long_worlds(plant: Plant, rules: Rules) -> list[World]:
    """Claims 3 and 4, on the long plain runs' accuracy."""
    m, eff, leaky, prelu = rules.accuracy_margin, rules.calibration["accuracy_effect"], rules.leaky, rules.prelu
    deepest = cell_key("depth", max(rules.design["long"]["depths"]))
    return [
        World(3, "true", "true", f"Leaky 0.01 exactly {m:g} below ReLU and every larger slope",
              plant.long_acc(lambda c, x: -m if x == leaky[0] else 0.0)),
        World(3, "false", "false", f"Leaky 0.01 exactly {m:g} below ReLU at {deepest}, equal elsewhere",
              plant.long_acc(lambda c, x: -m if (x == leaky[0] and c == deepest) else 0.0)),
        World(3, "effect", "effect", "every activation equal", plant.long_acc(lambda c, x: 0.0)),
        World(4, "true", "true", f"PReLU's gain 0 at the baseline depth, {m:g} at {deepest}",
              plant.long_acc(lambda c, x: m if (x == prelu and c == deepest) else 0.0)),
        World(4, "false", "false", "PReLU's gain 0 at every depth", plant.long_acc(lambda c, x: 0.0)),
        World(4, "effect", "effect", f"PReLU's gain 0 at the baseline depth, {eff:g} at {deepest}",
              plant.long_acc(lambda c, x: eff if (x == prelu and c == deepest) else 0.0)),
    ]


def accuracy_worlds(plant: Plant, rules: Rules) -> list[World]:
    """Claims 5 and 6, on the accuracy of the trained ResNet and the stress grid."""
    m, eff, harsh = rules.accuracy_margin, rules.calibration["accuracy_effect"], rules.harshest_cells()
    return [
        World(5, "true", "true", f"ResNet differences exactly {m:g}; {m:g} in each knob's harshest cell",
              plant.typical(m, lambda c: m if c in harsh else 0.0)),
        World(5, "false (ResNet)", "false", f"ResNet differences exactly {m:g}; {eff:g} in the harshest cells",
              plant.typical(m, lambda c: eff if c in harsh else 0.0)),
        World(5, "false (stress)", "false", f"ResNet equal; {eff:g} in the harshest cells but the last knob's, "
              "whose cells are all equal", plant.typical(0.0, lambda c: eff if (c in harsh and c != harsh[-1]) else 0.0)),
        World(5, "effect", "effect", f"ResNet equal; {eff:g} in the harshest cells",
              plant.typical(0.0, lambda c: eff if c in harsh else 0.0)),
        World(6, "true", "true", f"no association; Leaky {m:g} above ReLU in all but one harshest cell",
              plant.cure(lambda c: m if c in harsh[:-1] else 0.0)),
        World(6, "false", "false", "no association; Leaky equal to ReLU", plant.cure(lambda c: 0.0)),
        World(6, "effect", "effect", f"{DIAGNOSIS_SLOPE:g} accuracy per unit of epoch-1 dead ratio; Leaky {eff:g} "
              "above ReLU in the harshest cells", plant.cure(lambda c: eff if c in harsh else 0.0), DIAGNOSIS_SLOPE),
    ]


def worlds(shape: Shape, rules: Rules) -> list[World]:
    """Every world, claim by claim (the order fixes each world's random numbers: one_world)."""
    plant = Plant(shape, rules)
    return dead_worlds(plant, rules) + long_worlds(plant, rules) + accuracy_worlds(plant, rules)


def run_world(shape: Shape, world: World, n_sim: int, rng, rules: Rules) -> dict:
    f = claims.CLAIM_FUNCS[world.claim]
    truth = [r["estimate"] for r in f(noiseless(shape, world.means), rules).comparisons]
    counts = dict.fromkeys(claims.VERDICTS, 0)
    covered = intervals = 0
    for _ in range(n_sim):
        v = f(simulate(shape, world.means, rng, world.slope, SCALES[world.claim]), rules)
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


class DegenerateNoise(ValueError):
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


def failures(table: pd.DataFrame) -> list[str]:
    """The bars a rule misses: false verdicts above 5%, coverage below 93%."""
    out = []
    for r in table.itertuples():
        where = f"of the {r.world} world" + (f" ({r.noise} noise)" if hasattr(r, "noise") else "")
        if r.role == "true" and r.contradicted > MAX_FALSE_VERDICT:
            out.append(f"claim {r.claim}: 'contradicted' in {r.contradicted:.1%} {where}")
        if r.role == "false" and r.supported > MAX_FALSE_VERDICT:
            out.append(f"claim {r.claim}: 'supported' in {r.supported:.1%} {where}")
        if not np.isnan(r.coverage) and r.coverage < MIN_COVERAGE:
            out.append(f"claim {r.claim}: intervals cover {r.coverage:.1%} {where}")
    return out


def unreachable(table: pd.DataFrame) -> dict[int, list[str]]:
    """Per claim, the verdicts its rule gave in none of its worlds' simulations (one noise
    model's rows). A bar on a verdict the rule never gives is met trivially: it calibrates
    nothing, so the table and the paper say so."""
    gaps = {claim: [v for v in claims.VERDICTS if not (g[v] > 0).any()] for claim, g in table.groupby("claim")}
    return {claim: never for claim, never in gaps.items() if never}


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
        return 0
    try:
        table = calibrate(runs, epochs, args.simulations, claims=args.claims, jobs=args.jobs,
                          seeds=args.seeds, noise=args.noise)
    except DegenerateNoise as e:
        print(f"calibrate_claims: no noise to calibrate with: {e}. The committed runs of that scale have no "
              "seed-to-seed spread; check results/<profile>/runs.csv and conf/study/", file=sys.stderr)
        return 2
    # the bars are enforced under pooled noise, the model committed with the extension's plan;
    # misses under per-cell noise are reported (printed here, in the table and in the paper)
    bad = failures(table[table.noise == "pooled"])
    reported = failures(table[table.noise != "pooled"])
    if bad:  # kept beside, not over, the last calibration that passed: a rerun of make fails again
        out = out.with_name(out.stem + ".failed.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    table.round(4).to_csv(out, index=False)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table[["noise", "claim", "world", "simulations", *claims.VERDICTS,
                     "coverage"]].to_string(index=False))
    print(f"{len(table)} worlds x {args.simulations} simulations at {args.seeds} seeds in {time.time() - start:.0f} s -> {out}")
    for r in reported:
        print("REPORTED (per-cell noise, not enforced)", r, file=sys.stderr)
    for model, g in table.groupby("noise"):
        for claim, never in unreachable(g).items():
            print(f"REPORTED ({model} noise) claim {claim}: never {' or '.join(never)} in any world, so a bar on "
                  "that verdict is met trivially", file=sys.stderr)
    for b in bad:
        print("FAIL", b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
