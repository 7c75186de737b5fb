"""Training throughput, measured side by side in one run (issue: performance).

For the plain CNN and ResNet-20 at batch 128 it measures, on whatever device is present:
  1. ceiling   forward+backward+SGD step on one fixed pre-made batch (compute only)
  2. ours      the project's training loop (uint8 data in memory, batch augmentation,
               per-epoch evaluation, monitor on): images trained / epoch wall time
  3. standard  torchvision-style per-image PIL transforms through a DataLoader with workers
  4. monitor   ours with the monitor on against off
  5. sweep     wall time of N identical short runs, 1 job against 2 joblib jobs
and writes results/bench/<device>.json. CPU runs are pinned to `--threads` cores, so
"standard" gets the same cores as "ours" (its workers share them).

An epoch of "ours" is 8,000 training images for the plain CNN (6 s here) and 6,000 for ResNet-20
(17 s), with 1 test image evaluated per 25 trained: the paper-scale (full profile) share of
per-epoch evaluation, 2,000 per 50,000. The probe keeps its default 512 images, six to eight
times its paper-scale share.

    python scripts/bench.py                      # synthetic data
    python scripts/bench.py data.source=folder data.root=../shared/data/cifar10-jpeg
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from PIL import Image
from torchvision import transforms
from torchvision.datasets import VisionDataset

from rectifiers.experiment import data
from rectifiers.files import CONF, RESULTS, ROOT
from rectifiers.provenance import git_commit
from rectifiers.training import models
from rectifiers.training.device import autocast_for, keep_freed_memory, select_device
from rectifiers.training.train import train

# model overrides, training images per epoch of "ours", steps per timed ceiling block (1.5-2 s)
MODELS = {"plain": (["model=plain"], 8_000, 15), "resnet20": (["model=resnet", "model.depth=20"], 6_000, 6)}
EVAL_SHARE = 25   # trained images per evaluated test image: the full profile's 50,000 / 2,000
FAST_WIDTH = 8    # --fast (the tests)


def config(model: str, args, tmp: Path, monitor: bool):
    overrides, images, _ = MODELS[model]
    images = args.images or images
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=overrides + [
            "profile=cpu", f"optim.batch_size={args.batch}", f"optim.epochs={args.epochs}",
            f"runtime.threads={args.threads}", f"runs_dir={tmp}", "runtime.progress=false",
            f"monitor.enabled={monitor}", f"runtime.compile={args.compile}"] + args.data + [
            f"data.train_size={images}", f"data.eval_size={images // EVAL_SHARE}"])


class Timing(NamedTuple):
    images: int
    seconds: float              # wall seconds: a ceiling block, or epochs with evaluation and monitor
    step_seconds: float = 0.0   # of which the training steps
    monitor_seconds: float = 0.0  # of which the monitor, timed by itself


def rate(samples: list[Timing], seconds: str = "seconds") -> float:
    """Images per second over all samples together."""
    return sum(s.images for s in samples) / sum(getattr(s, seconds) for s in samples)


def ceiling_block(cfg, device, steps: int):
    """A function that times `steps` fwd+bwd+SGD steps on one fixed batch (no data pipeline, no
    monitor)."""
    torch.manual_seed(0)
    model = models.build_model(cfg.model, cfg.activation).to(device, memory_format=torch.channels_last)
    net = torch.compile(model) if cfg.runtime.compile else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(cfg.optim.batch_size, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (cfg.optim.batch_size,), device=device)
    autocast = autocast_for(device)

    def step():
        with autocast():
            loss = F.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def block() -> Timing:
        sync(device)
        t = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        return Timing(steps * cfg.optim.batch_size, time.perf_counter() - t)
    for _ in range(3):  # warm-up
        step()
    return block


def ours(cfg) -> Timing:
    """The trained epochs of one run of the project's training loop."""
    summary = train(cfg)
    run = Path(cfg.runs_dir) / cfg.profile.name / summary["run_id"]
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][1:]
    shutil.rmtree(run)  # so that a repeat trains again instead of skipping a finished run
    return Timing(sum(r["images"] for r in epochs), sum(r["seconds"] for r in epochs),
                  sum(r["images"] / r["images_per_s"] for r in epochs),
                  sum(r["monitor_seconds"] or 0.0 for r in epochs))


def measure(name: str, args, tmp: Path, device) -> dict:
    """Ceiling blocks (C), ours with the monitor on and off and the standard pipeline (S), in the
    palindromic order C on off C S C off on C: every pair compared has the same mean time, so a
    steady drift of the machine's speed (10% within minutes here) cancels out of the ratios. The
    monitor's own timing of itself within the monitored epochs is reported too: it needs no
    second run, so the machine's drift does not enter it."""
    on, off = config(name, args, tmp / "on", True), config(name, args, tmp / "off", False)
    block = ceiling_block(on, device, 2 if args.fast else MODELS[name][2])
    c, runs_on, runs_off = [block()], [ours(on)], [ours(off)]
    c.append(block())
    standard_rate = standard(on, device, args.workers)
    c.append(block())
    runs_off.append(ours(off))
    runs_on.append(ours(on))
    c.append(block())
    on_seconds, monitor_seconds = sum(run.seconds for run in runs_on), sum(run.monitor_seconds for run in runs_on)
    r = {"train_images": on.data.train_size, "eval_images": on.data.eval_size, "ceiling": rate(c),
         "ours": rate(runs_on), "ours_steps": rate(runs_on, "step_seconds"), "ours_monitor_off": rate(runs_off),
         "standard": standard_rate,
         "samples": {"ceiling": [rate([s]) for s in c], "ours": [rate([s]) for s in runs_on],
                     "ours_monitor_off": [rate([s]) for s in runs_off]}}
    r.update(ours_over_ceiling=r["ours"] / r["ceiling"], ours_steps_over_ceiling=r["ours_steps"] / r["ceiling"],
             ours_over_standard=r["ours"] / r["standard"], monitor_overhead=r["ours_monitor_off"] / r["ours"],
             monitor_overhead_self_timed=on_seconds / (on_seconds - monitor_seconds))
    return r


class ArrayDataset(VisionDataset):
    """torchvision.datasets.CIFAR10's __getitem__ over the same uint8 arrays."""

    def __init__(self, x, y, transform):
        super().__init__(root=None, transform=transform)
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.x[i])), int(self.y[i])


def standard(cfg, device, workers: int) -> float:
    """The common CIFAR pipeline: PIL RandomCrop+Flip+ToTensor+Normalize in DataLoader workers,
    and the same per-epoch evaluation on the test subset (ToTensor+Normalize) as ours."""
    ((x, y), (tx, ty)), _, _ = data.load_arrays(cfg.data)
    n = cfg.data.train_size or len(y)
    idx = data.balanced_subset(y, n if n < len(y) else None, cfg.data.subset_seed)
    ev = data.balanced_subset(ty, cfg.data.eval_size, cfg.data.subset_seed)
    mean, std = (x[idx].reshape(-1, 3).mean(0) / 255).tolist(), (x[idx].reshape(-1, 3).std(0) / 255).tolist()
    norm = [transforms.ToTensor(), transforms.Normalize(mean, std)]
    tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), *norm])

    def loader(ds, **kw):
        return torch.utils.data.DataLoader(ds, num_workers=workers, persistent_workers=workers > 0,
                                           pin_memory=device.type == "cuda", **kw)
    train_loader = loader(ArrayDataset(x[idx], y[idx], tf), batch_size=cfg.optim.batch_size, shuffle=True,
                          drop_last=True)
    eval_loader = loader(ArrayDataset(tx[ev], ty[ev], transforms.Compose(norm)), batch_size=1000)
    torch.manual_seed(0)
    model = models.build_model(cfg.model, cfg.activation).to(device, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    autocast = autocast_for(device)
    images, t = 0, time.perf_counter()
    for _ in range(cfg.optim.epochs):
        model.train()
        for xb, yb in train_loader:
            xb = xb.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            yb = yb.to(device, non_blocking=True)
            with autocast():
                loss = F.cross_entropy(model(xb).float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            images += len(yb)
        model.eval()
        with torch.no_grad():
            for xb, yb in eval_loader:
                with autocast():
                    (model(xb.to(device).contiguous(memory_format=torch.channels_last)).argmax(1)
                     == yb.to(device)).sum().item()
    sync(device)
    return images / (time.perf_counter() - t)


def sweep(n_runs: int, jobs: int, tmp: Path, extra: list[str]) -> float:
    """Wall seconds of n identical short single-threaded runs through the joblib launcher."""
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "-m", "profile=smoke", "runtime.threads=1",
           "runtime.progress=false", f"runs_dir={tmp}", "hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}",
           "seed=" + ",".join(str(s) for s in range(n_runs))] + extra
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="training throughput benchmark")
    ap.add_argument("data", nargs="*", help="Hydra data overrides, e.g. data.source=folder data.root=PATH")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers of the standard pipeline")
    ap.add_argument("--sweep-runs", type=int, default=8)
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    ap.add_argument("--images", type=int, help="training images per epoch of ours, for both models")
    ap.add_argument("--fast", action="store_true", help="a few steps only (tests)")
    ap.add_argument("--out", type=Path, default=RESULTS / "bench")
    args = ap.parse_args(argv)
    most = args.images or max(images for _, images, _ in MODELS.values())
    args.data = args.data or ["data=synthetic", f"data.synthetic_train={most}",
                              f"data.synthetic_test={most // EVAL_SHARE}"]
    sweep_extra = ["optim.epochs=2", "data.synthetic_train=5000", "model.depth=8", "model.width=16"]
    if args.fast:  # width 8: at width 4 ResNet's first shortcut is the conv of docs/design.md, Known issues
        args.data = ["data=synthetic", "data.synthetic_train=512", "data.synthetic_test=200",
                     "monitor.probe_size=64", f"model.width={FAST_WIDTH}"]
        args.epochs, args.batch, args.sweep_runs, args.images = 1, 64, 2, 500
        sweep_extra = ["optim.epochs=1", "data.synthetic_train=200", f"model.width={FAST_WIDTH}"]
    keep_freed_memory()  # as every training run does, so that the ceiling gets it too
    cpus = sorted(os.sched_getaffinity(0))
    device = select_device(config("plain", args, Path("/nonexistent"), True).runtime)
    results = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "threads": args.threads, "batch_size": args.batch, "epochs": args.epochs, "data": args.data,
               "torch": torch.__version__, "compile": args.compile, "git_commit": git_commit(), "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if device.type == "cpu":  # "ours" and "standard" get the same cores
            os.sched_setaffinity(0, cpus[:args.threads])
        torch.set_num_threads(args.threads)
        for name in MODELS:
            r = results["models"][name] = measure(name, args, tmp, device)
            print(f"{name:9s} ceiling {r['ceiling']:6.0f} img/s | ours {r['ours']:6.0f} "
                  f"({r['ours_over_ceiling']:.3f} of ceiling; steps alone {r['ours_steps_over_ceiling']:.3f}) | "
                  f"standard {r['standard']:6.0f} "
                  f"(ours/standard {r['ours_over_standard']:.2f}) | monitor overhead x{r['monitor_overhead']:.3f} "
                  f"(self-timed x{r['monitor_overhead_self_timed']:.3f})",
                  flush=True)
        if device.type == "cpu":
            os.sched_setaffinity(0, cpus)
        one = sweep(args.sweep_runs, 1, tmp / "sweep1", sweep_extra)
        two = sweep(args.sweep_runs, 2, tmp / "sweep2", sweep_extra)
        results["sweep"] = {"runs": args.sweep_runs, "cores": len(cpus), "one_job_s": one, "two_jobs_s": two,
                            "speedup": one / two}
        print(f"sweep     {args.sweep_runs} runs: 1 job {one:.1f} s, 2 jobs {two:.1f} s, speed-up {one / two:.2f}x")
    args.out.mkdir(parents=True, exist_ok=True)
    name = "fast" if args.fast else ("cpu" if device.type == "cpu" else "gpu")
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out / f'{name}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
