"""The numbers every claim rule uses, declared once in conf/claims.yaml before the data they
decide on: alpha, the margins, the dead-ratio threshold, what a diverged run counts as, and
the design (which activations, cells and scales each claim reads). The stress grid's levels
(design.stress: baseline, knobs) are those the studies train, declared in conf/levels.yaml.
Loaded once into RULES. How the rules use them: docs/design.md section 6.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..files import CONF

CONFIG = CONF / "claims.yaml"
LEVELS = CONF / "levels.yaml"  # per knob column: baseline, stress levels (mildest first)


@dataclass(frozen=True)
class Rules:
    alpha: float
    accuracy_margin: float
    dead_margin: float
    dead_threshold: float
    chance_accuracy: float
    diverged_dead_ratio: float
    collapse_accuracy: float
    permutations: int
    seed: int
    design: dict
    calibration: dict
    extension: dict
    sensitivity: dict   # analyses reported beside a verdict, never deciding it
    tuning: dict        # the tuned study: each activation at its own learning rate

    @property
    def relu(self) -> str:
        return self.design["relu"]

    @property
    def leaky(self) -> list[str]:
        return list(self.design["leaky"])

    @property
    def prelu(self) -> str:
        return self.design["prelu"]

    @property
    def knobs(self) -> dict:
        return self.design["stress"]["knobs"]

    def stress_cells(self) -> list[str]:
        """The stress grid's cells in table order: the baseline, then each knob's levels."""
        return ["baseline"] + [cell_key(k, v) for k, levels in self.knobs.items() for v in levels]

    def harshest_cells(self) -> list[str]:
        """The most stressful level of each knob."""
        return [cell_key(k, levels[-1]) for k, levels in self.knobs.items()]


def load_rules(path: Path = CONFIG, levels: Path = LEVELS) -> Rules:
    """The rules of `path`, their design's stress grid completed with the levels of `levels`:
    baseline {column: level} and knobs {column: [stress levels]}."""
    rules = yaml.safe_load(Path(path).read_text())
    knobs = yaml.safe_load(Path(levels).read_text())
    rules["design"]["stress"] |= {"baseline": {k: v["baseline"] for k, v in knobs.items()},
                                  "knobs": {k: list(v["stress"]) for k, v in knobs.items()}}
    return Rules(**rules)


RULES = load_rules()


def cell_key(knob: str, level) -> str:
    """'lr', 0.1 -> 'lr=0.1'; the name of a cell of the stress grid or the long runs."""
    return f"{knob}={float(level):g}"


@dataclass(frozen=True)
class Cell:
    """A cell of the study. key: its name in the tidy table (tidy.py: 'baseline', 'lr=0.1',
    'depth=8', 'resnet20'); kind: 'baseline', 'stress', 'long' or 'reference'; knob: what sets
    it apart from the baseline (a stress knob of study.json, or a run column); level: that
    knob's value; label: as tables print it ('lr 0.1', 'ResNet-20')."""
    key: str
    kind: str
    knob: str
    level: float
    label: str

    @classmethod
    def parse(cls, key: str, kind: str = "stress") -> Cell:
        """The cell a `cell_key` names: 'depth=8' -> knob 'depth', level 8.0, label 'depth 8'."""
        knob, level = key.split("=")
        return cls(key, kind, knob, float(level), f"{knob} {level}")
