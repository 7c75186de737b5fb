"""Dead-unit monitor (docs/design.md section 5).

A unit is a channel of a conv layer or a feature of a linear layer. The metrics (dead,
sparsity, tau-dormant) have one definition, `LayerStats`, streamed over a layer's
pre-activations (the activation's input) and outputs, of shape (N, C) or (N, C, H, W).
`Monitor` evaluates them on a fixed probe set in eval mode, with forward hooks that exist
only during the probe pass; rectifiers.diagnose and scripts/signal_scale.py use the same.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from ..activations import is_activation


def unit_columns(x: torch.Tensor) -> torch.Tensor:
    """(N, C, ...) -> (N * ..., C): one column per unit; a view for channels_last maps."""
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def dormant_scores(mean_abs: torch.Tensor) -> torch.Tensor:
    """Sokar et al. (2023): s_i = E|h_i| / mean_k E|h_k|, from each unit's mean |output| h."""
    layer_mean = mean_abs.mean()
    return mean_abs / layer_mean if layer_mean > 0 else torch.zeros_like(mean_abs)


def revival(dead_history: list[torch.Tensor]) -> tuple[int, int]:
    """(revived, ever_dead) at the latest measurement: revived units were dead at an earlier
    measurement and are alive now; ever-dead units were dead at any measurement so far."""
    now = dead_history[-1]
    earlier = torch.zeros_like(now)
    for d in dead_history[:-1]:
        earlier |= d
    return int((earlier & ~now).sum()), int((earlier | now).sum())


class LayerStats:
    """Streams the metrics of one activation call site over probe chunks: per unit, the count of
    positive pre-activations and the sum of |output|. The sums run over slices of `rows` images,
    whose temporaries stay in a CPU core's cache, as matrix-vector products, the cheapest column
    sums here (`.float()` for bf16 maps under autocast). A float32 count is exact below 2**24 per
    unit and slice; the running totals are float64. Used as a forward hook by `Monitor`, and fed
    input and output separately by `rectifiers.diagnose` (which must read an in-place
    activation's input before the call overwrites it)."""

    def __init__(self, rows: int = 16):
        self.rows = rows
        self.positive = self.abs_sum = 0
        self.values_per_unit = 0

    def add_pre(self, pre: torch.Tensor) -> None:
        for cols in map(unit_columns, pre.split(self.rows)):
            ones = cols.new_ones(cols.shape[0], dtype=torch.float32)
            self.positive = self.positive + (ones @ torch.relu(cols).sign_().float()).double()
            self.values_per_unit += cols.shape[0]

    def add_post(self, post: torch.Tensor) -> None:
        for cols in map(unit_columns, post.split(self.rows)):
            ones = cols.new_ones(cols.shape[0], dtype=torch.float32)
            self.abs_sum = self.abs_sum + (ones @ cols.abs().float()).double()

    @classmethod
    def of(cls, pre: torch.Tensor, post: torch.Tensor) -> LayerStats:
        """The statistics of one layer's pre-activations and outputs, seen whole."""
        stats = cls()
        stats.add_pre(pre)
        stats.add_post(post)
        return stats

    def __call__(self, module, inputs, output):
        self.add_pre(inputs[0])
        self.add_post(output)

    def metrics(self, tau: float) -> dict:
        """The call site's units, dead mask (bool, per unit) and dead, sparsity and
        tau-dormant ratios over everything streamed so far."""
        dead = self.positive == 0
        dormant = dormant_scores(self.abs_sum / self.values_per_unit) <= tau
        return {"units": dead.numel(), "dead_mask": dead, "dead_ratio": dead.float().mean().item(),
                "sparsity": 1.0 - self.positive.sum().item() / (dead.numel() * self.values_per_unit),
                "dormant_ratio": dormant.float().mean().item()}


def feeding_weights(model: nn.Module) -> list[nn.Parameter]:
    """For each activation, in order, the weight of the last conv/linear layer before it."""
    feeders, last = [], None
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            last = m.weight
        elif is_activation(m):
            feeders.append(last)
    return feeders


class Monitor:
    def __init__(self, model: nn.Module, probe_x: torch.Tensor, tau: float = 0.1, chunk: int = 256):
        self.model, self.probe_x, self.tau, self.chunk = model, probe_x, tau, chunk
        self.layers = [(name, m) for name, m in model.named_modules() if is_activation(m)]
        self.feeders = feeding_weights(model)
        self.grad_sum = torch.zeros(len(self.layers), device=probe_x.device)
        self.grad_steps = 0
        self.dead_history: list[torch.Tensor] = []
        self.seconds = 0.0  # wall time spent in the monitor (on a GPU, up to its last sync)

    def accumulate_grads(self) -> None:
        """After backward(): add each feeding layer's weight-gradient norm (no tensors kept)."""
        t = time.perf_counter()
        self.grad_sum += torch.stack(torch._foreach_norm([w.grad for w in self.feeders]))
        self.grad_steps += 1
        self.seconds += time.perf_counter() - t

    @torch.no_grad()
    def probe(self, autocast) -> list[LayerStats]:
        stats = [LayerStats() for _ in self.layers]
        hooks = [m.register_forward_hook(s) for (_, m), s in zip(self.layers, stats)]
        was_training = self.model.training
        self.model.eval()
        try:
            for x in self.probe_x.split(self.chunk):
                with autocast():
                    self.model(x)
        finally:
            for h in hooks:
                h.remove()
            self.model.train(was_training)
        return stats

    def measure(self, epoch: int, autocast) -> tuple[dict, list[dict]]:
        """Network-level record and per-layer records for this measurement."""
        t = time.perf_counter()
        stats = self.probe(autocast)
        grads = (self.grad_sum / self.grad_steps).tolist() if self.grad_steps else [None] * len(stats)
        self.grad_sum.zero_()
        self.grad_steps = 0
        layers, dead_all = [], []
        for i, ((name, m), s, g) in enumerate(zip(self.layers, stats, grads)):
            r = s.metrics(self.tau)
            slope = getattr(m, "weight", None)  # learned slopes (PReLU) only
            dead_all.append(r["dead_mask"])
            layers.append({
                "epoch": epoch, "layer": i, "name": name, "units": r["units"],
                "dead": int(r["dead_mask"].sum()), "dead_ratio": r["dead_ratio"],
                "sparsity": r["sparsity"], "dormant_ratio": r["dormant_ratio"],
                "slope_mean": None if slope is None else slope.mean().item(),
                "slope_min": None if slope is None else slope.min().item(),
                "slope_max": None if slope is None else slope.max().item(),
                "grad_norm": g,
            })
        dead_all = torch.cat(dead_all).cpu()
        self.dead_history.append(dead_all)
        revived, ever_dead = revival(self.dead_history)
        units = dead_all.numel()
        network = {
            "dead_ratio": dead_all.float().mean().item(),
            "sparsity": sum(r["sparsity"] * r["units"] for r in layers) / units,
            "dormant_ratio": sum(r["dormant_ratio"] * r["units"] for r in layers) / units,
            "revived": revived, "ever_dead": ever_dead,
            "revival_ratio": revived / ever_dead if ever_dead else 0.0,
        }
        self.seconds += time.perf_counter() - t
        return network, layers

    def state_dict(self) -> dict:
        return {"dead_history": self.dead_history, "grad_sum": self.grad_sum, "grad_steps": self.grad_steps,
                "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.dead_history = list(state["dead_history"])
        self.grad_sum.copy_(state["grad_sum"])
        self.grad_steps = state["grad_steps"]
        self.seconds = state.get("seconds", 0.0)
