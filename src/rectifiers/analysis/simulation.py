"""Simulated studies for calibrating the claim rules (scripts/calibrate_claims.py, scripts/power.py;
docs/design.md section 6): a table with the study's shape whose values are planted means plus
seed noise resampled from the committed runs. Whole residual vectors across the activations of
one (cell, seed) are drawn, so the noise keeps the runs' spread, skew and heavy tails and the
correlation between activations trained from one seed; a pool of fewer than MIN_POOL vectors
is replaced by normal noise of its covariance."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .rules import RULES, Rules, cell_key
from .tidy import tidy

MIN_POOL = 10           # residual vectors below which a pool is replaced by normal noise of its covariance
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


def shape_from(runs: pd.DataFrame, epochs: pd.DataFrame | None, acts: dict, rules: Rules = RULES, seeds: int = 5,
               noise: str = "pooled") -> Shape:
    """The shape of a study with `seeds` seeds per cell, its means and noise from the committed
    runs. A scale without runs borrows the means of the nearest committed stress cells (the
    long runs those of the baseline and depth 20, the trained ResNet those of the 5,000-image
    ResNet); a scale whose own runs lack 3 seeds of some (cell, act) borrows their noise."""
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise={noise!r}; options: {', '.join(NOISE_MODELS)}")
    t = tidy(runs, epochs, rules)
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


def noiseless(shape: Shape, means: dict) -> pd.DataFrame:
    """The planted means as a table (one seed per cell repeated), for the true values."""
    zero = Shape(shape.acts, 2, shape.cells, shape.means,
                 {k: np.zeros((1, v.shape[1])) for k, v in shape.pools.items()})
    return simulate(zero, means, np.random.default_rng(0))


class Plant:
    """Planted means: copies of the shape's base means with one kind of effect set."""

    def __init__(self, shape: Shape, rules: Rules):
        self.shape, self.relu, self.leaky = shape, rules.relu, rules.leaky

    def base(self) -> dict:
        return {k: v.copy() for k, v in self.shape.means.items()}

    def relu_peak(self, f) -> dict:        # f(cell) -> ReLU's peak dead ratio
        w = self.base()
        for c in self.shape.cells["stress"]:
            w[("stress", "dead_peak")].loc[c, self.relu] = f(c)
        return w

    def leaky_dead(self, f) -> dict:       # f(cell) -> ReLU's end dead ratio minus Leaky's
        w = self.base()
        d = w[("stress", "dead_final")]
        for c in self.shape.cells["stress"]:
            d.loc[c, self.leaky] = d.loc[c, self.relu] - f(c)
        return w

    def long_acc(self, f) -> dict:         # f(cell, act) -> difference from ReLU
        w = self.base()
        a = w[("long", "acc")]
        for c in self.shape.cells["long"]:
            for x in self.shape.acts["long"]:
                a.loc[c, x] = a.loc[c, self.relu] + f(c, x)
        return w

    def typical(self, ref, stress) -> dict:  # ref: diff in the ResNet; stress(cell) -> diff of every non-ReLU act
        w = self.base()
        r = w[("trained", "acc")]
        r.loc[:, r.columns != self.relu] = r[[self.relu]].to_numpy() + ref
        s = w[("stress", "acc")]
        for c in self.shape.cells["stress"]:
            s.loc[c, s.columns != self.relu] = s.loc[c, self.relu] + stress(c)
        return w

    def cure(self, f) -> dict:             # f(cell) -> Leaky minus ReLU
        w = self.base()
        s = w[("stress", "acc")]
        for c in self.shape.cells["stress"]:
            s.loc[c, self.leaky] = s.loc[c, self.relu] + f(c)
        return w



def calibrated_level(pvalues, share: float) -> float:
    """The largest level at which a test that rejects when p < level rejects in at most `share`
    of the simulated p-values (those of a world where it should not reject): the
    floor(share * n)-th smallest of n (0-based). With share 0.05 and p-values 0.01, 0.02, ...,
    1.00 it is 0.06: five of the hundred lie below it."""
    p = np.sort(np.asarray(pvalues, dtype=float))
    if not len(p) or np.isnan(p).any():
        raise ValueError("calibrated_level needs simulated p-values without NaN")
    return float(p[min(int(np.floor(share * len(p))), len(p) - 1)])
