"""The activation factory: one function maps an activation config to a torch.nn module.

Models call `make_activation(cfg, channels)` and never look at the activation's name.
"""
from __future__ import annotations

from torch import nn

NAMES = ("relu", "leaky_relu", "prelu")
PRELU_MODES = ("channel", "shared")


def check(cfg) -> None:
    """Raise a ValueError naming the problem if the activation config is unusable."""
    if cfg.name not in NAMES:
        raise ValueError(
            f"unknown activation {cfg.name!r}; valid names are {', '.join(NAMES)} "
            f"(e.g. activation=leaky_relu activation.negative_slope=0.1)")
    if cfg.name == "leaky_relu" and not 0.0 <= cfg.negative_slope < 1.0:
        raise ValueError(f"activation.negative_slope={cfg.negative_slope} must lie in [0, 1)")
    if cfg.name == "prelu" and cfg.mode not in PRELU_MODES:
        raise ValueError(f"unknown PReLU mode {cfg.mode!r}; use one of {', '.join(PRELU_MODES)}")


def make_activation(cfg, channels: int) -> nn.Module:
    """A fresh activation module for a layer with `channels` units."""
    check(cfg)
    if cfg.name == "relu":
        return nn.ReLU()
    if cfg.name == "leaky_relu":
        return nn.LeakyReLU(cfg.negative_slope)
    return nn.PReLU(num_parameters=channels if cfg.mode == "channel" else 1, init=cfg.init)


def slope_at_init(cfg) -> float:
    """The negative-side slope a at initialisation, for the leak-aware Kaiming gain."""
    check(cfg)
    return {"relu": 0.0, "leaky_relu": cfg.get("negative_slope", 0.0),
            "prelu": cfg.get("init", 0.25)}[cfg.name]


ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.PReLU)


def is_activation(module: nn.Module) -> bool:
    return isinstance(module, ACTIVATION_TYPES)


def param_groups(model: nn.Module, weight_decay: float, slope_weight_decay: float) -> list[dict]:
    """SGD parameter groups: learned PReLU slopes get their own weight decay (0 in He et al. 2015)."""
    slopes = {id(m.weight) for m in model.modules() if isinstance(m, nn.PReLU)}
    rest = [p for p in model.parameters() if id(p) not in slopes]
    groups = [{"params": rest, "weight_decay": weight_decay}]
    if slopes:
        groups.append({"params": [p for p in model.parameters() if id(p) in slopes],
                       "weight_decay": slope_weight_decay, "name": "prelu_slopes"})
    return groups
