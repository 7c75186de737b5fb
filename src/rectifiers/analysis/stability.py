"""Verdict stability (docs/design.md section 6, scripts/stability.py): a seed bootstrap of the
committed runs. Within each (scale, cell) the seeds are resampled with replacement, every
activation of a drawn seed kept with it, and the claim rules applied to each resample.
Descriptive, not a test: it says how much each verdict owes to the seeds that were drawn. Two
views: the five-seed study (seeds 0-4, before the extension of conf/claims.yaml) and every seed."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import claims
from .rules import RULES, Rules
from .tidy import resample_seeds

RESAMPLES = 1000
VIEWS = {"five seeds": lambda t: t[t.seed < claims.FIVE_SEEDS], "all seeds": lambda t: t}


def stability(t: pd.DataFrame, resamples: int, rng: np.random.Generator, rules: Rules = RULES) -> pd.DataFrame:
    """The share of seed bootstraps (tidy.resample_seeds, pairing kept) in which each claim's
    rule says supported, contradicted or inconclusive. One row per claim."""
    verdicts = (claims.SUPPORTED, claims.CONTRADICTED, claims.INCONCLUSIVE)
    counts = {n: dict.fromkeys(verdicts, 0) for n in claims.CLAIM_FUNCS}
    for _ in range(resamples):
        for v in claims.decide(resample_seeds(t, rng), rules):
            counts[v.number][v.verdict] += 1
    return pd.DataFrame([{"claim": n, "resamples": resamples, **{k: c / resamples for k, c in cs.items()}}
                         for n, cs in counts.items()])


def table(t: pd.DataFrame, resamples: int = RESAMPLES, seed: int = RULES.seed) -> pd.DataFrame:
    """stability() in each view, one row per (view, claim)."""
    parts = []
    for i, (view, select) in enumerate(VIEWS.items()):
        part = stability(select(t), resamples, np.random.default_rng([seed, i]))
        parts.append(part.assign(view=view, seeds=int(select(t).seed.nunique())))
    return pd.concat(parts, ignore_index=True)[["view", "seeds", "claim", "resamples", claims.SUPPORTED,
                                                  claims.CONTRADICTED, claims.INCONCLUSIVE]]
