"""Measuring a model's dead units per call site, with the study's definitions (training/monitor.py,
docs/design.md section 5): every rectifier module (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ReLU6,
nn.RReLU; nn.ELU and nn.GELU as "other") is hooked and measured on a fixed probe in eval mode.
A BatchNorm layer never updated normalises in eval mode with mean 0 and variance 1, the
statistics of no data (an untrained torchvision ResNet-18 then shows 12.6% dead units, and 0%
with the probe's statistics), so by default such layers get the probe's statistics, in a copy.
A module that the forward pass calls twice (torchvision's BasicBlock calls one `relu` twice)
gives two rows, `name#0` and `name#1`. Activations called as functions (F.relu, torch.relu)
have no module to hook and are not seen. A unit is a channel (dim 1 of the activation's
input) or a feature of a linear layer.
"""
from __future__ import annotations

import copy

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


def batchnorms(model: nn.Module) -> list[str]:
    """Names of the model's BatchNorm layers that keep running statistics."""
    return [name for name, m in model.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def never_updated(model: nn.Module) -> list[str]:
    """The BatchNorm layers whose running statistics were never updated: no batch tracked, and
    still the reset values (mean 0, variance 1). Weights converted from old checkpoints track
    no batch but hold real statistics, so the count alone does not decide."""
    modules = dict(model.named_modules())
    return [name for name in batchnorms(model) if int(modules[name].num_batches_tracked) == 0
            and not modules[name].running_mean.any() and bool((modules[name].running_var == 1).all())]


@torch.no_grad()
def probe_batchnorm(model: nn.Module, images: torch.Tensor, chunk: int = 256) -> nn.Module:
    """A copy of `model`, in eval mode, whose never-updated BatchNorm layers hold the probe's
    statistics: reset, then averaged over the probe's chunks (momentum None: a cumulative
    average) with those layers in training mode and the rest in eval mode. `model` is untouched."""
    fresh, model = set(never_updated(model)), copy.deepcopy(model).eval()
    for name, m in model.named_modules():
        if name in fresh:
            m.reset_running_stats()
            m.momentum = None
            m.train()
    for x in images.split(chunk):
        model(x)
    return model.eval()


@torch.no_grad()
def measure(model: nn.Module, images: torch.Tensor, tau: float = 0.1, chunk: int = 256,
            batchnorm: str = "probe") -> list[dict]:
    """Per rectifier call site, in forward order: name, kind, units, dead (count), dead_ratio,
    dormant_ratio (tau-dormant) and sparsity over the probe `images` (already normalised, on
    the model's device), passed in chunks in eval mode. The model's mode is restored and its
    hooks removed afterwards, also when the forward pass fails. batchnorm="probe" measures a
    copy whose never-updated BatchNorm layers hold the probe's statistics (probe_batchnorm);
    "keep" measures them as they are, as the training monitor does."""
    if batchnorm not in ("probe", "keep"):
        raise ValueError(f"batchnorm={batchnorm!r}: use 'probe' or 'keep'")
    if batchnorm == "probe" and never_updated(model):
        model = probe_batchnorm(model, images, chunk)
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
