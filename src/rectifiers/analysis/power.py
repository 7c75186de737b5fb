"""Power by sample size (docs/design.md section 6, scripts/power.py): for N seeds per cell, each
claim rule's share of verdicts in two simulated worlds, beside the study's compute cost at N.
- effect: the claim holds with the declared effect (conf/claims.yaml, calibration), as in
  the calibration (worlds.py);
- observed: the planted means are the committed means (no effect planted or removed).
Noise is per cell (each cell's own residual vectors). The cost is every scale's runs at N
seeds, at the mean seconds per run of its committed records (one thread per run), in core-hours."""
from __future__ import annotations

import pandas as pd

from . import claims
from .calibration import RNG_SEED, run_worlds, sound_shape
from .rules import RULES, Rules
from .simulation import Shape
from .tidy import tidy
from .worlds import SCALES_BY_CLAIM, World, worlds

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


def power_worlds(shape: Shape, rules: Rules) -> list[World]:
    """The calibration's effect worlds, then one world of the committed means per claim."""
    effect = [w for w in worlds(shape, rules) if w.role == "effect"]
    observed = [World(c, "observed", "observed", "the committed means",
                      {k: v.copy() for k, v in shape.means.items()}) for c in SCALES_BY_CLAIM]
    return effect + observed


def table(runs: pd.DataFrame, epochs: pd.DataFrame, acts: dict, n_sim: int = SIMULATIONS, seeds=SEEDS,
          jobs: int = 1, rules: Rules = RULES) -> pd.DataFrame:
    """One row per (N, claim, world); `acts` as calibration.calibrate takes them."""
    todo = []
    for n in seeds:
        shape = sound_shape(runs, epochs, acts, rules, n, "cell")
        todo += [(shape, i, w) for i, w in enumerate(power_worlds(shape, rules))]
    rows = run_worlds(todo, n_sim, rules, RNG_SEED, jobs)
    cost = {n: core_hours(runs, todo[0][0], n, rules) for n in seeds}
    out = pd.DataFrame(rows)
    out["core_hours"] = out.seeds.map(cost)
    return out[COLUMNS]
