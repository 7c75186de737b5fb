"""The signal through depth at initialisation: for the plain CNN at each depth of the long
study (and at the init-bias knob's most stressful level, at the baseline depth) and each
activation of the study, the pre-activation of every monitored layer on the monitor's probe
(the 512 fixed training images of the long runs), for every seed of the profile. The network
is built exactly as a run builds it (torch.manual_seed(seed), then
rectifiers.training.models.build_model: leak-aware Kaiming), so seed s here is the network run
s started from. Per layer it writes:

- second_moment: E[z^2] over images, channels and positions (the length q of Poole et al.
  2016 and Schoenholz et al. 2017);
- log_spread: the standard deviation over images of log(mean z^2 of one image) (the
  fluctuation of the squared length that Hanin and Rolnick 2018 show grows with depth/width);
- cosine: the mean cosine similarity between the pre-activation vectors of two different
  images (the correlation c of Schoenholz et al. 2017: near 1, the layer no longer tells
  inputs apart);
- sparsity and dead_ratio, as the monitor defines them (a check against layers.csv's epoch 0).

Each row carries its provenance: the code commit, torch, the CPU and its capability, the data
fingerprint. Seconds of CPU per network.

    python scripts/signal_scale.py --profile cpu --out results/cpu/signal_scale.csv \\
        data.source=folder data.root=../shared/data/cifar10-jpeg
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd
import torch
from hydra import compose, initialize_config_dir

from rectifiers import activations
from rectifiers.analysis.mechanism import signal_acts, signal_settings
from rectifiers.analysis.rules import RULES
from rectifiers.experiment.records import cpu_model
from rectifiers.files import CONF, write_atomic
from rectifiers.provenance import git_commit
from rectifiers.training import models, tensors
from rectifiers.training.monitor import LayerStats

log = logging.getLogger("rectifiers")


def config(profile: str, act: str, depth: int, bias: float, seed: int, overrides: list[str]):
    entry = activations.by_label()[act]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"profile={profile}", f"activation={entry.config}", f"model.depth={depth}",
                                          f"model.init.bias={bias}", f"seed={seed}", *overrides])
    cfg.data.train_size = cfg.profile.long.train_size  # the long runs' training subset: their probe
    return cfg


def layer_stats(pre: torch.Tensor, post: torch.Tensor) -> dict:
    """The signal measures of one layer's pre-activations (N, C, H, W) or (N, C), and its dead
    and sparsity ratios as the monitor defines them."""
    flat = pre.reshape(len(pre), -1).double()
    per_image = flat.pow(2).mean(dim=1)
    unit = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-30)
    gram = unit @ unit.T
    n = len(flat)
    monitor = LayerStats.of(pre, post).metrics(tau=0.1)
    return {"units": pre.shape[1], "second_moment": per_image.mean().item(),
            "log_spread": per_image.clamp_min(1e-300).log().std().item(),
            "cosine": ((gram.sum() - gram.diagonal().sum()) / (n * (n - 1))).item(),
            "sparsity": monitor["sparsity"], "dead_ratio": monitor["dead_ratio"]}


@torch.no_grad()
def measure(model: torch.nn.Module, x: torch.Tensor) -> list[dict]:
    """One row per activation call site, in the monitor's order (its `layer` index)."""
    rows, hooks = [], []
    for m in (m for m in model.modules() if activations.is_activation(m)):
        hooks.append(m.register_forward_hook(lambda mod, inp, out: rows.append(layer_stats(inp[0], out))))
    model.eval()
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return [{"layer": i, **r} for i, r in enumerate(rows)]


def rows_for(profile: str, act: str, depth: int, bias: float, seed: int, overrides: list[str],
             probe: dict) -> list[dict]:
    cfg = config(profile, act, depth, bias, seed, overrides)
    key = (cfg.data.source, str(cfg.data.root), cfg.data.train_size)
    if key not in probe:  # the probe once per data set: as the monitor builds it
        ds = tensors.load(cfg.data, cfg.monitor.probe_size, torch.device("cpu"))
        probe[key] = (tensors.normalise(ds.train.x[ds.probe_idx], ds.mean, ds.std), ds.fingerprint)
    x, fingerprint = probe[key]
    torch.manual_seed(cfg.seed)  # as rectifiers.training.train.set_up: the run's initial network
    model = models.build_model(cfg.model, cfg.activation)
    return [{"depth": depth, "init_bias": bias, "act": act, "seed": seed, **r, "images": len(x),
             "data_fingerprint": fingerprint} for r in measure(model, x)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--out", type=Path, required=True, help="results/<profile>/signal_scale.csv")
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0..n-1 (default: the profile's)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides of the data, as the study was trained")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="signal_scale.py: %(message)s", stream=sys.stderr)
    torch.set_num_threads(1)
    seeds = args.seeds or int(config(args.profile, RULES.relu, 8, 0.0, 0, args.overrides).profile.seeds)
    rows, probe = [], {}
    for depth, bias in signal_settings():
        for act in signal_acts():
            for seed in range(seeds):
                rows += rows_for(args.profile, act, depth, bias, seed, args.overrides, probe)
            log.info("depth %d, bias %g, %s: %d seeds", depth, bias, act, seeds)
    df = pd.DataFrame(rows).assign(git_commit=git_commit(), torch=torch.__version__, cpu=cpu_model(),
                                   cpu_capability=torch.backends.cpu.get_cpu_capability())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, df.to_csv(index=False, float_format="%.6g"))
    log.info("wrote %s (%d rows)", args.out, len(df))
    return 0


if __name__ == "__main__":
    sys.exit(main())
