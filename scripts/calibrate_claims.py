"""Calibrate the claim rules (src/rectifiers/analysis/claims.py) by simulation.

Each simulated table has the study's shape: the stress grid's cells, the long plain runs at
their depths and the trained ResNet, the same activations and seeds. Its values are planted
means plus seed noise taken from the committed runs: whole residual vectors across
activations of one (cell, seed) are resampled, so the noise keeps the runs' real spread,
their skew and heavy tails (a diverged run at chance accuracy is in there), and the
correlation between activations trained from one seed. Scales whose runs are not committed
yet borrow the noise of the nearest committed cells (the long runs that of the plain
baseline and depth 20, the trained ResNet that of the 5,000-image ResNet). A pool of fewer than
MIN_POOL residual vectors (one cell of five seeds) is no distribution to resample: its noise is
drawn from a normal distribution with the pool's covariance instead. The method is
docs/design.md section 6.

Per claim, three worlds (the rows of the CSV):
- true: the claim holds, at the edge where a false "contradicted" is most likely;
- false: the claim fails, at the edge where a false "supported" is most likely;
- effect: the claim holds with the declared effect size (conf/claims.yaml, calibration):
  P(supported) there is the rule's power.
Coverage is the share of the rule's printed intervals (paired t, slope) that contain the
planted value. Exit status 1 if a rule says "contradicted" in more than 5% of a true world,
"supported" in more than 5% of a false world, or its intervals cover less than 93%.

    python scripts/calibrate_claims.py --results results/cpu --out results/cpu/claims_calibration.csv
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rectifiers.analysis import claims
from rectifiers.analysis.rules import RULES, Rules, cell_key
from rectifiers.analysis.tidy import tidy
from rectifiers.spec.study import scale_activations

MAX_FALSE_VERDICT = 0.05
MIN_COVERAGE = 0.93
RNG_SEED = 20240611
MIN_POOL = 10           # residual vectors below which a pool is replaced by normal noise of its covariance
DIAGNOSIS_SLOPE = 0.3   # effect world of claim 6: 3 points of accuracy lost per 0.1 of epoch-1 dead ratio
OUTCOMES = ("acc", "dead_final", "dead_peak")
COMPARED = {"stress": OUTCOMES, "long": ("acc",), "trained": ("acc",)}  # what the rules compare per scale
NOISE_MODELS = ("pooled", "cell")  # one pool per scale, or each cell its own (docs/design.md section 6)


@dataclass
class Shape:
    """The study's shape and its noise: per scale, the cells and the activations its studies
    sweep; the seeds; the base means (cell x act, per outcome) and, per cell, the residual
    vectors (k x act) its noise is drawn from."""
    acts: dict                       # scale -> activation labels (conf/study/*.yaml)
    seeds: int
    cells: dict                      # scale -> list of cells
    means: dict                      # (scale, outcome) -> DataFrame cell x act
    pools: dict                      # (scale, outcome, cell) -> array (k, len(acts[scale]))
    dead1: dict = field(default_factory=dict)   # (cell, act) -> observed epoch-1 dead ratios
    noise: str = "pooled"


def _residual_pool(t: pd.DataFrame, cells: list[str], acts: list[str], outcome: str) -> np.ndarray:
    """Residual vectors (one per cell and seed with every activation present): value minus
    its (cell, act) mean over seeds, times sqrt(n / (n - 1)) so that resampling them keeps
    the seed-to-seed variance."""
    vecs = []
    for c in cells:
        g = t[t.cell == c].pivot_table(index="seed", columns="act", values=outcome, aggfunc="first")
        g = g.reindex(columns=acts).dropna()
        n = len(g)
        if n >= 2:
            vecs.append((g - g.mean()).to_numpy() * np.sqrt(n / (n - 1)))
    return np.concatenate(vecs) if vecs else np.zeros((0, len(acts)))


def _means(src: pd.DataFrame, fallback: pd.DataFrame, cells: list[str], acts: list[str], o: str) -> pd.DataFrame:
    """cell x act means of `src`; an activation without runs takes its cell's mean over the
    others (no effect planted), a cell without runs the means of `fallback`."""
    def table(df):
        return df[df.cell.isin(cells)].groupby(["cell", "act"])[o].mean().unstack().reindex(index=cells, columns=acts)
    m = table(src)
    m = m.T.fillna(m.mean(axis=1)).T.fillna(table(fallback))
    return m.fillna(m.stack().mean() if m.notna().any().any() else 0.0)


def shape_from(runs: pd.DataFrame, epochs: pd.DataFrame | None, rules: Rules = RULES, seeds: int = 5,
               noise: str = "pooled", acts: dict | None = None) -> Shape:
    """The shape of a study with `seeds` seeds per cell, its means and noise from the committed
    runs. A scale without runs borrows the means of the nearest committed stress cells (the
    long runs those of the baseline and depth 20, the trained ResNet those of the 5,000-image
    ResNet); a scale whose own runs lack 3 seeds of some (cell, act) borrows their noise."""
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise={noise!r}; options: {', '.join(NOISE_MODELS)}")
    t = tidy(runs, epochs, rules)
    acts = acts or scale_activations()
    stress_cells = rules.stress_cells()
    long_cells = [cell_key("depth", d) for d in rules.design["long"]["depths"]]
    cells = {"stress": stress_cells, "long": long_cells, "trained": ["resnet20"]}
    stress = t[t.scale == "stress"]
    noise_src = {"stress": stress, "long": stress.assign(cell=stress.cell.replace({"baseline": long_cells[0]})),
                 "trained": stress}
    mean_src = dict(noise_src)
    for scale in ("long", "trained"):
        own = t[t.scale == scale]
        if len(own):  # its own means as soon as it has runs; its own noise once every (cell, act) has 3 seeds
            mean_src[scale] = own
            seeds_in = own.groupby(["cell", "act"]).seed.nunique()
            if seeds_in.reindex(pd.MultiIndex.from_product([cells[scale], acts[scale]])).fillna(0).min() >= 3:
                noise_src[scale] = own
    means, pools = {}, {}
    for scale, cs in cells.items():
        a, src = acts[scale], noise_src[scale]
        for o in OUTCOMES:
            means[(scale, o)] = _means(mean_src[scale], noise_src[scale], cs, a, o)
            pooled = _residual_pool(src, cs, a, o)
            for c in cs:
                pools[(scale, o, c)] = pooled if noise == "pooled" else _residual_pool(src, [c], a, o)
    dead1 = {}
    if "dead_epoch1" in t:
        for (c, a), g in stress.groupby(["cell", "act"]):
            dead1[(c, a)] = g.dead_epoch1.dropna().to_numpy()
    return Shape(acts, seeds, cells, means, pools, dead1, noise)


def degenerate(shape: Shape) -> list[str]:
    """The scales and outcomes the rules compare whose noise is degenerate: fewer than 2
    residual vectors over the scale's cells, no spread at all, or an activation whose accuracy
    never varies. Their simulated tests would be exact and calibrate nothing. Under per-cell
    noise one cell may be exact (every run of an activation diverged there): that is what its
    runs show, and it is kept (docs/design.md section 6)."""
    out = []
    for scale, outcomes in COMPARED.items():
        for o in outcomes:
            pool = np.concatenate([shape.pools[(scale, o, c)] for c in
                                   (shape.cells[scale] if shape.noise == "cell" else shape.cells[scale][:1])])
            flat = [a for a, sd in zip(shape.acts[scale], pool.std(axis=0)) if sd == 0] if len(pool) else []
            if len(pool) < 2 or not np.any(pool):
                out.append(f"scale {scale}, {o}: {len(pool)} residual vectors and no spread")
            elif o == "acc" and flat:
                out.append(f"scale {scale}, {o}: no spread for {', '.join(flat)}")
    return out


def _draw(pool: np.ndarray, k: int, rng) -> np.ndarray:
    """k residual vectors: resampled from a pool of at least MIN_POOL, otherwise normal noise
    with the pool's covariance (a handful of vectors is no distribution to resample)."""
    if len(pool) >= MIN_POOL:
        return pool[rng.integers(0, len(pool), size=k)]
    return rng.multivariate_normal(np.zeros(pool.shape[1]), np.cov(pool, rowvar=False, ddof=0), size=k,
                                   method="eigh")


def simulate(shape: Shape, means: dict, rng, diagnosis_slope: float = 0.0, scales=None) -> pd.DataFrame:
    """One tidy table: for each scale, planted means (cell x act) plus resampled residual
    vectors, one per (cell, seed). Epoch-1 dead ratios of the stress grid are resampled from
    the committed ones of the same (cell, act); with diagnosis_slope > 0 a run's accuracy
    falls by that much per unit of its epoch-1 dead ratio above the (cell, act) average."""
    parts = []
    for scale, cells in shape.cells.items():
        if scales is not None and scale not in scales:
            continue
        acts, n = shape.acts[scale], shape.seeds
        cols = {}
        for o in OUTCOMES:
            noise = np.stack([_draw(shape.pools[(scale, o, c)], n, rng) for c in cells])
            cols[o] = means[(scale, o)].to_numpy()[:, None, :] + noise
        if scale == "stress":
            d1 = np.zeros((len(cells), n, len(acts)))
            centre = np.zeros_like(d1)
            for i, c in enumerate(cells):
                for j, a in enumerate(acts):
                    obs = shape.dead1.get((c, a), np.zeros(0))
                    if len(obs):
                        d1[i, :, j] = obs[rng.integers(0, len(obs), size=n)]
                        centre[i, :, j] = obs.mean()
            cols["dead_epoch1"] = d1
            cols["acc"] = cols["acc"] - diagnosis_slope * (d1 - centre)
        idx = np.indices((len(cells), n, len(acts))).reshape(3, -1)
        parts.append(pd.DataFrame({"scale": scale, "cell": np.asarray(cells, dtype=object)[idx[0]], "seed": idx[1],
                                   "act": np.asarray(acts, dtype=object)[idx[2]],
                                   **{o: v.ravel() for o, v in cols.items()}}))
    t = pd.concat(parts, ignore_index=True)
    t["status"], t["ever_dead"], t["revived"] = "ok", 0, 0
    t["early_collapse"] = False
    t["run_id"] = np.arange(len(t)).astype(str)
    if "dead_epoch1" not in t:
        t["dead_epoch1"] = np.nan
    return t


SCALES = {1: ["stress"], 2: ["stress"], 3: ["long"], 4: ["long"], 5: ["stress", "trained"], 6: ["stress"]}


def noiseless(shape: Shape, means: dict) -> pd.DataFrame:
    """The planted means as a table (one seed per cell repeated), for the true values."""
    zero = Shape(shape.acts, 2, shape.cells, shape.means, {k: np.zeros((1, v.shape[1])) for k, v in shape.pools.items()})
    return simulate(zero, means, np.random.default_rng(0))


# --- the worlds -------------------------------------------------------------------------

def worlds(shape: Shape, rules: Rules) -> list[dict]:
    """(claim, world, role, description, means, diagnosis_slope) for every world."""
    relu, leaky, prelu = rules.relu, rules.leaky, rules.prelu
    m, dm, thr = rules.accuracy_margin, rules.dead_margin, rules.dead_threshold
    eff_acc, eff_dead = rules.calibration["accuracy_effect"], rules.calibration["dead_effect"]
    harsh = rules.harshest_cells()
    deepest = cell_key("depth", max(rules.design["long"]["depths"]))

    def base():
        return {k: v.copy() for k, v in shape.means.items()}

    def set_relu_peak(f):
        w = base()
        for c in shape.cells["stress"]:
            w[("stress", "dead_peak")].loc[c, relu] = f(c)
        return w

    def leaky_dead(f):
        w = base()
        d = w[("stress", "dead_final")]
        for c in shape.cells["stress"]:
            d.loc[c, leaky] = d.loc[c, relu] - f(c)
        return w

    def long_acc(f):       # f(cell, act) -> difference from ReLU
        w = base()
        a = w[("long", "acc")]
        for c in shape.cells["long"]:
            for x in shape.acts["long"]:
                a.loc[c, x] = a.loc[c, relu] + f(c, x)
        return w

    def typical(ref, stress):  # ref: diff in the ResNet; stress(cell) -> diff of every non-ReLU act
        w = base()
        r = w[("trained", "acc")]
        r.loc[:, r.columns != relu] = r[[relu]].to_numpy() + ref
        s = w[("stress", "acc")]
        for c in shape.cells["stress"]:
            s.loc[c, s.columns != relu] = s.loc[c, relu] + stress(c)
        return w

    def cure(f):            # f(cell) -> Leaky minus ReLU
        w = base()
        s = w[("stress", "acc")]
        for c in shape.cells["stress"]:
            s.loc[c, leaky] = s.loc[c, relu] + f(c)
        return w

    at_thr = set_relu_peak(lambda c: thr)
    d = [
        (1, "true", "true", f"ReLU's mean peak dead ratio exactly {thr:g} in every cell", at_thr, 0),
        (1, "false", "false", f"ReLU's mean peak dead ratio exactly {thr:g} in every cell", at_thr, 0),
        (1, "effect", "effect", f"{thr + eff_dead:g} in the harshest cells, {thr - eff_dead:g} elsewhere",
         set_relu_peak(lambda c: thr + eff_dead if c in harsh else thr - eff_dead), 0),
        (2, "true", "true", f"every Leaky slope ends with {dm:g} less dead ratio than ReLU in every cell",
         leaky_dead(lambda c: dm), 0),
        (2, "false", "false", "Leaky ends with ReLU's dead ratio everywhere", leaky_dead(lambda c: 0.0), 0),
        (2, "effect", "effect", f"Leaky {eff_dead:g} below ReLU in the harshest cells, equal elsewhere",
         leaky_dead(lambda c: eff_dead if c in harsh else 0.0), 0),
        (3, "true", "true", f"Leaky 0.01 exactly {m:g} below ReLU and every larger slope",
         long_acc(lambda c, x: -m if x == leaky[0] else 0.0), 0),
        (3, "false", "false", f"Leaky 0.01 exactly {m:g} below ReLU at {deepest}, equal elsewhere",
         long_acc(lambda c, x: -m if (x == leaky[0] and c == deepest) else 0.0), 0),
        (3, "effect", "effect", "every activation equal", long_acc(lambda c, x: 0.0), 0),
        (4, "true", "true", f"PReLU's gain 0 at the baseline depth, {m:g} at {deepest}",
         long_acc(lambda c, x: m if (x == prelu and c == deepest) else 0.0), 0),
        (4, "false", "false", "PReLU's gain 0 at every depth", long_acc(lambda c, x: 0.0), 0),
        (4, "effect", "effect", f"PReLU's gain 0 at the baseline depth, {eff_acc:g} at {deepest}",
         long_acc(lambda c, x: eff_acc if (x == prelu and c == deepest) else 0.0), 0),
        (5, "true", "true", f"ResNet differences exactly {m:g}; {m:g} in each knob's harshest cell",
         typical(m, lambda c: m if c in harsh else 0.0), 0),
        (5, "false (ResNet)", "false", f"ResNet differences exactly {m:g}; {eff_acc:g} in the harshest cells",
         typical(m, lambda c: eff_acc if c in harsh else 0.0), 0),
        (5, "false (stress)", "false", f"ResNet equal; {eff_acc:g} in the harshest cells but the last knob's, "
         "whose cells are all equal", typical(0.0, lambda c: eff_acc if (c in harsh and c != harsh[-1]) else 0.0), 0),
        (5, "effect", "effect", f"ResNet equal; {eff_acc:g} in the harshest cells",
         typical(0.0, lambda c: eff_acc if c in harsh else 0.0), 0),
        (6, "true", "true", f"no association; Leaky {m:g} above ReLU in all but one harshest cell",
         cure(lambda c: m if c in harsh[:-1] else 0.0), 0),
        (6, "false", "false", "no association; Leaky equal to ReLU", cure(lambda c: 0.0), 0),
        (6, "effect", "effect", f"{DIAGNOSIS_SLOPE:g} accuracy per unit of epoch-1 dead ratio; Leaky {eff_acc:g} "
         "above ReLU in the harshest cells", cure(lambda c: eff_acc if c in harsh else 0.0), DIAGNOSIS_SLOPE),
    ]
    return [dict(claim=c, world=w, role=r, description=desc, means=mu, slope=s) for c, w, r, desc, mu, s in d]


def run_world(shape: Shape, world: dict, n_sim: int, rng, rules: Rules) -> dict:
    f = claims.CLAIM_FUNCS[world["claim"]]
    truth = [r["estimate"] for r in f(noiseless(shape, world["means"]), rules).comparisons]
    counts = {claims.SUPPORTED: 0, claims.CONTRADICTED: 0, claims.INCONCLUSIVE: 0}
    covered = intervals = 0
    for _ in range(n_sim):
        v = f(simulate(shape, world["means"], rng, world["slope"], SCALES[world["claim"]]), rules)
        counts[v.verdict] += 1
        for r, true in zip(v.comparisons, truth):
            if not (np.isnan(r["low"]) or np.isnan(true)):
                intervals += 1
                covered += r["low"] <= true <= r["high"]
    return dict(claim=world["claim"], world=world["world"], role=world["role"], description=world["description"],
                simulations=n_sim, supported=counts[claims.SUPPORTED] / n_sim,
                contradicted=counts[claims.CONTRADICTED] / n_sim, inconclusive=counts[claims.INCONCLUSIVE] / n_sim,
                coverage=covered / intervals if intervals else np.nan, intervals=intervals)


def one_world(shape: Shape, world: dict, index: int, n_sim: int, rules: Rules, seed: int) -> dict:
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
        todo += [(shape, i, w) for i, w in enumerate(worlds(shape, rules)) if w["claim"] in claims]
    if jobs > 1:
        from joblib import Parallel, delayed
        rows = Parallel(n_jobs=jobs)(delayed(one_world)(sh, w, i, n_sim, rules, seed) for sh, i, w in todo)
    else:
        rows = [one_world(sh, w, i, n_sim, rules, seed) for sh, i, w in todo]
    return pd.DataFrame(rows)


COLUMNS = ["noise", "seeds", "claim", "world", "role", "description", "simulations", "supported", "contradicted",
           "inconclusive", "coverage", "intervals"]


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
        print(table[["noise", "claim", "world", "simulations", "supported", "contradicted", "inconclusive",
                     "coverage"]].to_string(index=False))
    print(f"{len(table)} worlds x {args.simulations} simulations at {args.seeds} seeds in {time.time() - start:.0f} s -> {out}")
    for r in reported:
        print("REPORTED (per-cell noise, not enforced)", r, file=sys.stderr)
    for b in bad:
        print("FAIL", b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
