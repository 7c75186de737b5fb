"""CIFAR-10 as whole-split uint8 tensors on the device, augmented on whole batches (as in
airbench). experiment/data.py decodes, caches and subsets the arrays; this module only moves them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..experiment.data import DataError, balanced_subset, load_arrays, validation_subset


@dataclass
class Split:
    x: torch.Tensor  # uint8, (N, 3, 32, 32)
    y: torch.Tensor  # int64, (N,)


@dataclass
class CIFAR:
    train: Split         # the class-balanced training subset
    test: Split          # the full test set
    val: Split | None    # held-out training images (data.val_size), never trained on; or None
    eval_idx: torch.Tensor  # fixed test subset for per-epoch evaluation
    probe_idx: torch.Tensor  # fixed training images for the dead-unit monitor
    mean: torch.Tensor   # per-channel, in [0, 255]
    std: torch.Tensor
    fingerprint: str     # sha256 of the decoded arrays (full splits, before subsetting)
    description: str


def load(cfg, probe_size: int, device: torch.device) -> CIFAR:
    """The training subset, the full test set, the validation images if any, and the fixed eval
    and probe indices, on `device`."""
    ((train_x, train_y), (test_x, test_y)), fp, description = load_arrays(cfg)
    tr = balanced_subset(train_y, cfg.train_size, cfg.subset_seed)
    va = validation_subset(train_y, cfg.val_size, cfg.train_size, cfg.subset_seed) if cfg.get("val_size") else None
    ev = balanced_subset(test_y, cfg.eval_size, cfg.subset_seed)
    if probe_size > len(tr):
        raise DataError(f"monitor.probe_size={probe_size} exceeds the {len(tr)} training images")
    # The probe set: a fixed, seed-independent sample of the training subset.
    probe = np.sort(np.random.default_rng(cfg.subset_seed + 1).permutation(len(tr))[:probe_size])

    def split(x, y):
        return Split(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(device),
                     torch.from_numpy(y).to(device))
    train = split(train_x[tr], train_y[tr])
    xf = train.x.float()
    return CIFAR(train=train, test=split(test_x, test_y),
                 val=None if va is None else split(train_x[va], train_y[va]), eval_idx=torch.from_numpy(ev).to(device),
                 probe_idx=torch.from_numpy(probe).to(device),
                 mean=xf.mean(dim=(0, 2, 3)), std=xf.std(dim=(0, 2, 3)),
                 fingerprint=fp, description=description)


def normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> standardised float, channels_last (fastest for convs on CPU and GPU)."""
    x = (x.to(dtype) - mean.view(1, 3, 1, 1).to(dtype)) / std.view(1, 3, 1, 1).to(dtype)
    return x.contiguous(memory_format=torch.channels_last)


def augment(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with `pad`-pixel zero padding and horizontal flip, for a whole batch at once.
    The crops are picked from a view of every window of the padded batch (no copy until the
    pick), which is about twice as fast on a CPU as gathering pixel by pixel."""
    n, _, h, w = x.shape
    dev = x.device
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
    flip = (torch.rand(n, generator=generator) < 0.5).to(dev)
    windows = torch.nn.functional.pad(x, (pad,) * 4).unfold(2, h, 1).unfold(3, w, 1)  # (n, C, dy, dx, h, w)
    out = windows.permute(0, 2, 3, 1, 4, 5)[torch.arange(n, device=dev), dy, dx]       # (n, C, h, w)
    return torch.where(flip[:, None, None, None], out.flip(3), out)
