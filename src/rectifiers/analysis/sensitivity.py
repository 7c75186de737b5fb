"""Claim 3's sensitivity analyses (conf/claims.yaml, sensitivity), reported beside its verdict of
record and never instead of it:
(a) `at_level`: the rule's own tests at a level calibrated by simulation
    (scripts/calibrate_claims.py writes the level);
(b) `collapse`: collapse as its own outcome. Per comparison of the rule, the seeds where exactly
    one of the two activations collapsed, and an exact two-sided binomial test on them (exact
    McNemar), Holm over the rule's comparisons.
Why: at depth 20 some activations collapse to chance in most seeds and others rarely, so the
paired accuracy difference is a skewed mixture, where a one-sided t test at ten seeds is
anti-conservative (docs/design.md section 6)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import claims, stats
from .rules import RULES, Rules, cell_key


def at_level(t: pd.DataFrame, level: float, rules: Rules = RULES) -> claims.Verdict:
    """(a) Claim 3 decided by its rule at `level` instead of alpha."""
    return claims.claim3(t, replace(rules, alpha=level))


@dataclass(frozen=True)
class CollapsePair:
    """One comparison of claim 3 on collapse: Leaky 0.01 (`act`) against `other` at `depth`."""
    depth: float
    act: str
    other: str
    seeds: int            # seeds with both runs
    collapsed_act: int
    collapsed_other: int
    only_act: int         # seeds where `act` collapsed and `other` did not
    only_other: int
    p: float              # exact two-sided binomial test of only_act vs only_other at 1/2
    p_adj: float = np.nan  # Holm over the rule's comparisons


def collapse_pair(t: pd.DataFrame, depth: float, act: str, other: str) -> CollapsePair:
    """Seeds paired on the long runs at one depth; NaN (failed runs) left out."""
    here = t[(t.scale == "long") & (t.cell == cell_key("depth", depth))]
    g = here.pivot_table(index="seed", columns="act", values="collapsed", aggfunc="first")
    g = g.reindex(columns=[act, other]).dropna().astype(bool)
    a, o = g[act].to_numpy(), g[other].to_numpy()
    only_a, only_o = int((a & ~o).sum()), int((o & ~a).sum())
    p = float(sps.binomtest(only_a, only_a + only_o, 0.5).pvalue) if only_a + only_o else 1.0
    return CollapsePair(depth, act, other, len(g), int(a.sum()), int(o.sum()), only_a, only_o, p)


def collapse(t: pd.DataFrame, rules: Rules = RULES) -> list[CollapsePair]:
    """(b) Every comparison of claim 3 on collapse, Holm-adjusted over them."""
    default, others = rules.leaky[0], [rules.relu] + rules.leaky[1:]
    pairs = [collapse_pair(t, d, default, o) for d in rules.design["long"]["depths"] for o in others]
    return [replace(p, p_adj=float(a)) for p, a in zip(pairs, stats.holm([p.p for p in pairs]))]


def collapse_verdict(pairs: list[CollapsePair], rules: Rules = RULES) -> str:
    """Contradicted where Leaky 0.01 collapses detectably more often than some other activation
    (Holm at alpha); a test of rates cannot show non-inferiority, so never supported."""
    worse = any(p.p_adj < rules.alpha and p.only_act > p.only_other for p in pairs)
    return claims.CONTRADICTED if worse else claims.INCONCLUSIVE


def collapse_counts(t: pd.DataFrame, rules: Rules = RULES) -> pd.DataFrame:
    """Per depth of the long runs (rows) and activation (columns): runs that collapsed, and runs."""
    here = t[(t.scale == "long") & t.collapsed.notna()]
    g = here.groupby(["cell", "act"]).collapsed.agg(["sum", "count"]).astype(int)
    cells = [cell_key("depth", d) for d in rules.design["long"]["depths"]]
    return g.reindex(pd.MultiIndex.from_product([cells, sorted(set(here.act))], names=["cell", "act"]))
