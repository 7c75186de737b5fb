"""The simulated worlds the claim rules are calibrated in (scripts/calibrate_claims.py,
scripts/power.py; docs/design.md section 6). Per claim:
- true: the claim holds, at the edge where a false "contradicted" is most likely;
- false: the claim fails, at the edge where a false "supported" is most likely;
- effect: the claim holds with the declared effect size (conf/claims.yaml, calibration):
  P(supported) there is the rule's power.
Each world is planted means (simulation.Plant) on the study's shape."""
from __future__ import annotations

from dataclasses import dataclass

from .rules import Rules, cell_key
from .simulation import Plant, Shape

DIAGNOSIS_SLOPE = 0.3   # effect world of claim 6: 3 points of accuracy lost per 0.1 of epoch-1 dead ratio
# claim -> the scales its rule reads: what its simulated tables hold
SCALES_BY_CLAIM = {1: ["stress"], 2: ["stress"], 3: ["long"], 4: ["long"], 5: ["stress", "trained"], 6: ["stress"]}


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
              "whose cells are all equal",
              plant.typical(0.0, lambda c: eff if (c in harsh and c != harsh[-1]) else 0.0)),
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
