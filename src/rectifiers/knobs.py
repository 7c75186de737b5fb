"""The stress knobs: one table of what each knob is called, wherever it is named.

A knob turns one setting of the baseline network (conf/study/<knob>.yaml sweeps it over the
levels conf/levels.yaml declares for its column). KNOBS holds, per knob (its column in
results/<profile>/*.csv), its config key, its names for figures, tables and prose, long and
short, and its unit. Pure data, no torch.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Knob:
    key: str             # the config key a study sweeps
    column: str          # its column in runs.csv
    name: str            # long name, lower case: axis labels, prose; a table capitalises it
    short: str           # in cell labels: 'lr 0.1', 'bias -0.5'
    plural: str          # a list of its levels: 'learning rates'
    unit: str = ""       # '' for a pure number
    per_network: bool = False  # the same words mean another setting in another network: name it


KNOBS = {k.column: k for k in (
    Knob("optim.lr", "lr", "learning rate", "lr", "learning rates"),
    Knob("optim.batch_size", "batch_size", "batch size", "batch", "batch sizes", "images"),
    Knob("model.depth", "depth", "depth", "depth", "depths", "weight layers", per_network=True),
    Knob("model.init.bias", "init_bias", "initial bias", "bias", "initial biases"),
)}
BY_KEY = {k.key: k for k in KNOBS.values()}

# The networks (conf/model/*.yaml), long and short, for a knob that needs to say which.
NETWORKS = {"plain": ("plain CNN", "plain"), "resnet": ("ResNet", "ResNet")}


def capital(text: str) -> str:
    """'learning rate' -> 'Learning rate' (a table's first word; 'ResNet' stays as it is)."""
    return text[:1].upper() + text[1:]


def axis_label(column: str, model: str) -> str:
    """A knob's name on a figure: 'learning rate', 'depth (plain CNN)'."""
    k = KNOBS[column]
    return f"{k.name} ({NETWORKS[model][0]})" if k.per_network else k.name


def levels_label(column: str, model: str) -> str:
    """A row of swept levels: 'Learning rates', 'Plain depths', 'ResNet depths'."""
    k = KNOBS[column]
    return capital(f"{NETWORKS[model][1]} {k.plural}" if k.per_network else k.plural)
