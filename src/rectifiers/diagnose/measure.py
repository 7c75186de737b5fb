"""Measuring a model's dead units per call site, with the study's definitions (training/monitor.py,
docs/design.md section 5): every rectifier module (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ReLU6,
nn.RReLU; nn.ELU and nn.GELU as "other") is hooked and measured on a fixed probe in eval mode.
A module that the forward pass calls twice (torchvision's BasicBlock calls one `relu` twice)
gives two rows, `name#0` and `name#1`. Activations called as functions (F.relu, torch.relu)
have no module to hook and are not seen. A unit is a channel (dim 1 of the activation's
input) or a feature of a linear layer.
"""
from __future__ import annotations

import torch
from torch import nn

from ..training.monitor import LayerStats

# Order matters only for subclasses; none of these subclasses another.
RECTIFIERS = ((nn.ReLU, "relu"), (nn.LeakyReLU, "leaky_relu"), (nn.PReLU, "prelu"), (nn.ReLU6, "relu6"),
              (nn.RReLU, "rrelu"), (nn.ELU, "other"), (nn.GELU, "other"))
STUCK = ("relu", "relu6")  # kinds with zero gradient below zero: their dead units cannot recover
RECTIFIER_NAMES = ", ".join(f"nn.{cls.__name__}" for cls, _ in RECTIFIERS)


def kind_of(module: nn.Module) -> str | None:
    return next((kind for cls, kind in RECTIFIERS if isinstance(module, cls)), None)


class NoRectifierError(ValueError):
    """The model has no rectifier module, or the forward pass called none."""


class _CallSites:
    """The call sites of one rectifier module: its i-th call in a forward pass feeds stats[i].
    The input is read by a pre-hook, before an in-place activation overwrites it."""

    def __init__(self, name: str, kind: str, order: list):
        self.name, self.kind, self.order = name, kind, order
        self.stats: list[LayerStats] = []
        self.calls = 0  # calls so far in the current forward pass

    def before(self, module, inputs):
        if self.calls == len(self.stats):  # a call site seen for the first time
            self.stats.append(LayerStats())
            self.order.append((self, self.calls))
        self.stats[self.calls].add_pre(inputs[0])

    def after(self, module, inputs, output):
        self.stats[self.calls].add_post(output)
        self.calls += 1


@torch.no_grad()
def measure(model: nn.Module, images: torch.Tensor, tau: float = 0.1, chunk: int = 256) -> list[dict]:
    """Per rectifier call site, in forward order: name, kind, units, dead (count), dead_ratio,
    dormant_ratio (tau-dormant) and sparsity over the probe `images` (already normalised, on
    the model's device), passed in chunks in eval mode. The model's mode is restored and its
    hooks removed afterwards, also when the forward pass fails."""
    order: list[tuple[_CallSites, int]] = []
    sites = [(m, _CallSites(name or "(model)", kind_of(m), order)) for name, m in model.named_modules()
             if kind_of(m)]
    if not sites:
        raise NoRectifierError(f"the model has no rectifier module ({RECTIFIER_NAMES})")
    hooks = [h for m, s in sites for h in (m.register_forward_pre_hook(s.before), m.register_forward_hook(s.after))]
    was_training = model.training
    model.eval()
    try:
        for x in images.split(chunk):
            for _, s in sites:
                s.calls = 0
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if not order:
        raise NoRectifierError(f"none of the model's {len(sites)} rectifier modules was called in the forward pass")
    rows = []
    for s, i in order:
        r = s.stats[i].metrics(tau)
        rows.append({"name": s.name if len(s.stats) == 1 else f"{s.name}#{i}", "kind": s.kind,
                     "units": r["units"], "dead": int(r["dead_mask"].sum()), "dead_ratio": r["dead_ratio"],
                     "dormant_ratio": r["dormant_ratio"], "sparsity": r["sparsity"]})
    return rows


def network_dead_ratio(rows: list[dict]) -> float:
    """Dead units over all units of all call sites (a unit called twice counts twice)."""
    return sum(r["dead"] for r in rows) / sum(r["units"] for r in rows)
