"""Calibrating the claim rules by simulation (docs/design.md section 6): each world of worlds.py
simulated on the study's shape (simulation.py), the share of each verdict of the claim's rule
there and the coverage of its printed intervals; claim 3's calibrated level (conf/claims.yaml,
sensitivity); and, for a false verdict above the bar, the comparisons that make it.
scripts/calibrate_claims.py and scripts/power.py run it, bars.py judges it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import claims, simulation
from .bars import MAX_FALSE_VERDICT
from .rules import RULES, Rules
from .simulation import NOISE_MODELS, Shape, degenerate, noiseless, simulate
from .tidy import tidy
from .worlds import SCALES_BY_CLAIM, World, worlds

RNG_SEED = 20240611


class SimulationError(ValueError):
    """The simulation itself is broken (a bug, not a finding about a rule)."""


class DegenerateNoise(SimulationError):
    pass


def off_design(runs: pd.DataFrame) -> str | None:
    """Why there is nothing to simulate with, or None: no run falls in the claims' design
    (conf/claims.yaml; a profile such as smoke, whose runs are of other sizes), so the claims
    stay "not yet run" and an empty table is written."""
    if tidy(runs).scale.notna().any():
        return None
    return (f"no run of {runs.profile.iloc[0] if len(runs) else 'this profile'} falls in the claims' design "
            "(conf/claims.yaml), so there is no noise to simulate with; writing an empty table")


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
    truth = [r.estimate for r in f(noiseless(shape, world.means), rules).comparisons]
    counts = dict.fromkeys(claims.VERDICTS, 0)
    covered = intervals = 0
    for _ in range(n_sim):
        v = f(simulate(shape, world.means, rng, world.slope, SCALES_BY_CLAIM[world.claim]), rules)
        counts[v.verdict] += 1
        for r, true in zip(v.comparisons, truth):
            if not (np.isnan(r.low) or np.isnan(true)):
                intervals += 1
                covered += r.low <= true <= r.high
    return dict(claim=world.claim, world=world.world, role=world.role, description=world.description,
                simulations=n_sim, **{v: n / n_sim for v, n in counts.items()},
                coverage=covered / intervals if intervals else np.nan, intervals=intervals)


def one_world(shape: Shape, world: World, index: int, n_sim: int, rules: Rules, seed: int) -> dict:
    # a generator per world, so the numbers do not depend on how worlds are shared out to jobs
    row = run_world(shape, world, n_sim, np.random.default_rng([seed, index]), rules)
    return dict(noise=shape.noise, seeds=shape.seeds, **row)


def run_worlds(todo: list[tuple[Shape, int, World]], n_sim: int, rules: Rules, seed: int, jobs: int) -> list[dict]:
    """one_world for each (shape, index, world), in `jobs` processes."""
    if jobs > 1:
        from joblib import Parallel, delayed
        return Parallel(n_jobs=jobs)(delayed(one_world)(sh, w, i, n_sim, rules, seed) for sh, i, w in todo)
    return [one_world(sh, w, i, n_sim, rules, seed) for sh, i, w in todo]


def sound_shape(runs: pd.DataFrame, epochs: pd.DataFrame | None, acts: dict, rules: Rules, seeds: int,
                noise: str) -> Shape:
    """simulation.shape_from, or DegenerateNoise naming each scale and outcome without noise."""
    shape = simulation.shape_from(runs, epochs, acts, rules, seeds, noise)
    bad = degenerate(shape)
    if bad:
        raise DegenerateNoise(f"{noise} noise: " + "; ".join(bad))
    return shape


def calibrate(runs: pd.DataFrame, epochs: pd.DataFrame | None, acts: dict, n_sim: int, rules: Rules = RULES,
              seed: int = RNG_SEED, claims=range(1, 7), jobs: int = 1, seeds: int = 5,
              noise=NOISE_MODELS) -> pd.DataFrame:
    """One row per (noise model, claim, world), in the order of `worlds`. `acts`: per scale, the
    activations its studies sweep (experiment/study.py's scale_activations). Raises DegenerateNoise,
    naming the scale and outcome, if a compared outcome has no noise."""
    todo = []
    for model in noise:
        shape = sound_shape(runs, epochs, acts, rules, seeds, model)
        todo += [(shape, i, w) for i, w in enumerate(worlds(shape, rules)) if w.claim in claims]
    return pd.DataFrame(run_worlds(todo, n_sim, rules, seed, jobs))


def claim3_level(runs: pd.DataFrame, epochs: pd.DataFrame | None, acts: dict, seeds: int, rules: Rules = RULES,
                 seed: int = RNG_SEED) -> dict:
    """Claim 3's sensitivity analysis (a), as conf/claims.yaml's sensitivity block declares it:
    in its true world under that noise, the level at which the rule's contradiction test (the
    smallest Holm-adjusted p-value of 'worse by more than the margin') rejects in the declared
    share of the simulations."""
    spec = rules.sensitivity["claim3"]["calibrated_level"]
    shape = simulation.shape_from(runs, epochs, acts, rules, seeds, spec["noise"])
    index, world = next((i, w) for i, w in enumerate(worlds(shape, rules)) if w.claim == 3 and w.world == spec["world"])
    check_world(shape, world)
    rng = np.random.default_rng([seed, index, 3])
    smallest = [min(r.adjusted.less for r in claims.claim3(simulate(shape, world.means, rng, 0.0, SCALES_BY_CLAIM[3]),
                                                       rules).comparisons)
                for _ in range(spec["simulations"])]
    level = simulation.calibrated_level(smallest, spec["false_contradicted"])
    return dict(claim=3, noise=spec["noise"], world=spec["world"], seeds=seeds, simulations=spec["simulations"],
                target=spec["false_contradicted"], level=level,
                contradicted_at_level=float(np.mean(np.less(smallest, level))),
                contradicted_at_alpha=float(np.mean(np.less(smallest, rules.alpha))))


# the test of a comparison whose Holm-adjusted p-value, by rejecting, gives the verdict, and the share of
# alpha it is tested at: what a false verdict of these rules is made of (claims.py)
DECIDING = {(1, claims.SUPPORTED): ("greater", 1.0), (2, claims.SUPPORTED): ("less", 1.0),
            (3, claims.CONTRADICTED): ("less", 1.0), (5, claims.CONTRADICTED): ("outside", 0.5)}
DRIVER_COLUMNS = ["noise", "claim", "world", "verdict", "simulations", "false_verdicts", "comparison", "share", "exact"]


def drivers(shape: Shape, world: World, verdict: str, n_sim: int, rng, rules: Rules = RULES,
            top: int = 3) -> list[dict]:
    """Which comparisons make a rule's false verdict in a world: among the simulations that give
    `verdict`, the share in which each comparison's deciding test rejected, and the share of those
    in which its simulated values had no spread (an exact point passes every test: stats.py)."""
    f, (test, share) = claims.CLAIM_FUNCS[world.claim], DECIDING[(world.claim, verdict)]
    hits, exact, false = {}, {}, 0
    for _ in range(n_sim):
        v = f(simulate(shape, world.means, rng, world.slope, SCALES_BY_CLAIM[world.claim]), rules)
        if v.verdict != verdict:
            continue
        false += 1
        for r in v.comparisons:
            if getattr(r.adjusted, test) < share * rules.alpha:   # NaN where the rule does not correct that test
                hits[r.label] = hits.get(r.label, 0) + 1
                exact[r.label] = exact.get(r.label, 0) + (r.low == r.high)
    ranked = sorted(hits, key=lambda k: -hits[k])[:top]
    return [dict(noise=shape.noise, claim=world.claim, world=world.world, verdict=verdict, simulations=n_sim,
                 false_verdicts=false, comparison=k, share=hits[k] / false, exact=exact[k] / hits[k]) for k in ranked]


def miss_drivers(runs: pd.DataFrame, epochs: pd.DataFrame | None, acts: dict, table: pd.DataFrame, seeds: int,
                 rules: Rules = RULES, seed: int = RNG_SEED) -> pd.DataFrame:
    """drivers() for every false verdict above the bar whose rule names its deciding test."""
    rows = []
    for model, g in table.groupby("noise", sort=False):
        shape = simulation.shape_from(runs, epochs, acts, rules, seeds, model)
        for i, w in enumerate(worlds(shape, rules)):
            row = g[(g.claim == w.claim) & (g.world == w.world)]
            verdict = {"true": claims.CONTRADICTED, "false": claims.SUPPORTED}.get(w.role)
            if len(row) and verdict and (w.claim, verdict) in DECIDING and row[verdict].iloc[0] > MAX_FALSE_VERDICT:
                rows += drivers(shape, w, verdict, int(row.simulations.iloc[0]),
                                np.random.default_rng([seed, i, 7]), rules)
    return pd.DataFrame(rows, columns=DRIVER_COLUMNS)
