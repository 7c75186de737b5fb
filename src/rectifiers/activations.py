"""The study's activations: one table of what each one is, and the factory that builds them.

ACTIVATIONS holds, per label (the `act` column of results/<profile>/*.csv, e.g.
leaky_relu_0.1), everything the code says about that activation: the config it is trained
from, the display name, colour, marker and line style of its lines, and, by its place in
the table, its order in every table and legend. CONSTRUCTORS builds the torch module of each config `name`.
Models call `make_activation(cfg, channels)` and never look at the name.

Adding an activation is one entry in ACTIVATIONS plus, for a new kind of module, its
constructor (tests/test_activations.py adds ELU that way). Torch is imported only when a
module is built or inspected, so the analysis side reads the table without loading it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Constructor:
    """How an activation config with this `name` becomes a torch module."""
    module: str                               # the torch.nn class
    arguments: Callable                       # (cfg, channels) -> the class's keyword arguments
    slope: Callable                           # cfg -> negative-side slope at init (leak-aware Kaiming gain)
    check: Callable = lambda cfg: None        # raises ValueError naming a bad setting


def _check_leaky(cfg) -> None:
    if not 0.0 <= cfg.negative_slope < 1.0:
        raise ValueError(f"activation.negative_slope={cfg.negative_slope} must lie in [0, 1)")


PRELU_MODES = ("channel", "shared")


def _check_prelu(cfg) -> None:
    if cfg.mode not in PRELU_MODES:
        raise ValueError(f"unknown PReLU mode {cfg.mode!r}; use one of {', '.join(PRELU_MODES)}")


CONSTRUCTORS = {
    "relu": Constructor("ReLU", lambda cfg, channels: {}, lambda cfg: 0.0),
    "leaky_relu": Constructor("LeakyReLU", lambda cfg, channels: {"negative_slope": cfg.negative_slope},
                              lambda cfg: cfg.get("negative_slope", 0.0), _check_leaky),
    # one learned slope per channel (He et al. 2015), or one for the whole layer
    "prelu": Constructor("PReLU", lambda cfg, channels: {"num_parameters": channels if cfg.mode == "channel" else 1,
                                                         "init": cfg.init},
                         lambda cfg: cfg.get("init", 0.25), _check_prelu),
}


@dataclass(frozen=True)
class Activation:
    """One activation of the study, as results/ label it."""
    label: str       # runs.csv `act`
    config: str      # conf/activation/<config>.yaml
    name: str        # the config's `name`: which constructor builds it
    display: str     # in tables, legends and prose
    colour: str
    marker: str
    linestyle: object = "-"  # of its mean line: a matplotlib name or (offset, (on, off, ...))
    params: dict = field(default_factory=dict)  # the config values that tell it from others of its name

    @property
    def slope(self) -> float:
        """The negative-side slope at initialisation (PReLU's before it learns)."""
        return CONSTRUCTORS[self.name].slope(self.params)


# In the order of every table and legend. Colours: Okabe & Ito (2008), safe for all common
# colour-vision deficiencies; ReLU, the reference, is black; yellow is left out (too faint).
# Some of them are alike in grayscale (sky blue and orange), so each activation also has a
# marker and a dash pattern of its own (tests/test_figures.py holds them distinct).
# A row's label and its config option differ once, and only here: the default Leaky ReLU is the
# option `activation=leaky_relu` (slope 0.01) and the label `leaky_relu_0.01` in results/ and claims.
ACTIVATIONS = (
    Activation("relu", "relu", "relu", "ReLU", "#000000", "o", "-"),
    Activation("leaky_relu_0.01", "leaky_relu", "leaky_relu", "Leaky 0.01", "#0072B2", "s", "--",
               {"negative_slope": 0.01}),
    Activation("leaky_relu_0.1", "leaky_relu_0.1", "leaky_relu", "Leaky 0.1", "#56B4E9", "^", ":",
               {"negative_slope": 0.1}),
    Activation("leaky_relu_0.2", "leaky_relu_0.2", "leaky_relu", "Leaky 0.2", "#009E73", "v",
               (0, (5, 1.5, 1, 1.5, 1, 1.5)), {"negative_slope": 0.2}),
    Activation("leaky_relu_0.3", "leaky_relu_0.3", "leaky_relu", "Leaky 0.3", "#E69F00", "D", "-.",
               {"negative_slope": 0.3}),
    Activation("prelu", "prelu", "prelu", "PReLU", "#D55E00", "P", (0, (7, 1.5)), {"mode": "channel"}),
    Activation("prelu_shared", "prelu_shared", "prelu", "PReLU (shared)", "#CC79A7", "h", (0, (7, 1.5, 1, 1.5)),
               {"mode": "shared"}),
)
REFERENCE = "relu"  # what every other activation is compared with


# --- the table, by label (what results/ and the figures hold) --------------------------

def by_label() -> dict[str, Activation]:
    """{label: entry}, read from the table each time (a test may extend the table)."""
    return {a.label: a for a in ACTIVATIONS}


def label(cfg) -> str:
    """An activation config (a dict or a DictConfig) -> its label: the table entry with its
    name and params; a setting the table does not list keeps its name and slope
    (leaky_relu_0.05), and the analysis refuses it until it has an entry."""
    for a in ACTIVATIONS:
        if a.name == cfg["name"] and all(cfg.get(k) == v for k, v in a.params.items()):
            return a.label
    return f"{cfg['name']}_{CONSTRUCTORS[cfg['name']].slope(cfg):g}"


def display(act: str) -> str:
    """Label -> its name in tables and prose: leaky_relu_0.1 -> 'Leaky 0.1'."""
    entry = by_label().get(act)
    return entry.display if entry else act


def ordered(acts) -> list[str]:
    """Labels in table order; any the table does not list come last, sorted."""
    present = set(acts)
    known = [a.label for a in ACTIVATIONS if a.label in present]
    return known + sorted(present - set(known))


def is_leaky(act: str) -> bool:
    entry = by_label().get(act)
    return entry is not None and entry.name == "leaky_relu"


# --- the factory (torch) ----------------------------------------------------------------

def check(cfg) -> None:
    """Raise a ValueError naming the problem if the activation config is unusable."""
    if cfg.name not in CONSTRUCTORS:
        raise ValueError(
            f"unknown activation {cfg.name!r}; valid names are {', '.join(CONSTRUCTORS)} "
            f"(e.g. activation=leaky_relu activation.negative_slope=0.1)")
    CONSTRUCTORS[cfg.name].check(cfg)


def make_activation(cfg, channels: int):
    """A fresh activation module (torch.nn.Module) for a layer with `channels` units."""
    from torch import nn
    check(cfg)
    c = CONSTRUCTORS[cfg.name]
    return getattr(nn, c.module)(**c.arguments(cfg, channels))


def slope_at_init(cfg) -> float:
    """The negative-side slope a at initialisation, for the leak-aware Kaiming gain."""
    check(cfg)
    return CONSTRUCTORS[cfg.name].slope(cfg)


def is_activation(module) -> bool:
    """Is `module` one of the modules the constructors build (what the monitor measures)?"""
    from torch import nn
    return isinstance(module, tuple(getattr(nn, c.module) for c in CONSTRUCTORS.values()))


def param_groups(model, weight_decay: float, slope_weight_decay: float) -> list[dict]:
    """SGD parameter groups: learned PReLU slopes get their own weight decay (0 in He et al. 2015)."""
    from torch import nn
    slopes = {id(m.weight) for m in model.modules() if isinstance(m, nn.PReLU)}
    rest = [p for p in model.parameters() if id(p) not in slopes]
    groups = [{"params": rest, "weight_decay": weight_decay}]
    if slopes:
        groups.append({"params": [p for p in model.parameters() if id(p) in slopes],
                       "weight_decay": slope_weight_decay, "name": "prelu_slopes"})
    return groups
