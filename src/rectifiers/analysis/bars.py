"""The bars the claim rules are held to in simulation, and what the calibration table
(scripts/calibrate_claims.py) and the power table (scripts/power.py) say about each rule. A rule
that misses a bar is a finding, reported beside its verdict, never a reason to withhold the
paper (docs/design.md section 6). Pure functions over those two tables."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .claims import CONTRADICTED, SUPPORTED, VERDICTS

MAX_FALSE_VERDICT = 0.05  # a false 'contradicted' in a true world, a false 'supported' in a false one
MIN_COVERAGE = 0.93       # of the printed 95% intervals
POWER_TARGET = 0.8        # the power a sample size is judged by


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
    gaps = {claim: [v for v in VERDICTS if not (g[v] > 0).any()] for claim, g in table.groupby("claim")}
    return {claim: never for claim, never in gaps.items() if never}


@dataclass(frozen=True)
class RuleCalibration:
    """One claim's rule under one noise model, summarised over its worlds."""
    claim: int
    noise: str
    false_contradicted: float   # the most 'contradicted' in any true world
    false_supported: float      # the most 'supported' in any false world
    coverage: float             # the least coverage of any world
    power: float                # 'supported' in the declared-effect world
    reachable: tuple[str, ...]  # the verdicts it gave in some world
    supported_if_true: float    # the most 'supported' in a world where the claim holds (true, effect)
    missed: bool                # some bar missed

    @property
    def can_support(self) -> bool:
        """Whether the rule ever said 'supported' where the claim holds: if not, the study could
        not have supported the claim at this many seeds."""
        return self.supported_if_true > 0


def rule_calibration(table: pd.DataFrame, claim: int, noise: str) -> RuleCalibration:
    g = table[(table.claim == claim) & (table.noise == noise)]
    if g.empty:
        raise ValueError(f"the calibration table has no rows for claim {claim} under {noise} noise")
    never = unreachable(g).get(claim, [])
    return RuleCalibration(claim, noise, float(g[g.role == "true"][CONTRADICTED].max()),
                           float(g[g.role == "false"][SUPPORTED].max()), float(g.coverage.min()),
                           float(g[g.role == "effect"][SUPPORTED].max()),
                           tuple(v for v in VERDICTS if v not in never),
                           float(g[g.role.isin(["true", "effect"])][SUPPORTED].max()), bool(failures(g)))


def seeds_for_power(power: pd.DataFrame, claim: int, target: float = POWER_TARGET) -> int | None:
    """The fewest seeds per cell at which the rule's power (declared-effect world) reaches
    `target` in the power table; None if no size in the table does."""
    eff = power[(power.claim == claim) & (power.world == "effect") & (power.supported >= target)]
    return int(eff.seeds.min()) if len(eff) else None
