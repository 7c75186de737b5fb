"""Print the number of runs of the stress study at a profile and an estimated wall time,
from throughput measured now on this machine (a few steps per distinct model shape).

    python scripts/plan.py --profile cpu [--jobs 2]
For a GPU, the estimate uses results/bench/gpu.json when it exists (measured with
`make bench` on the GPU), otherwise the measured FLOP count at --gpu-tflops (an assumption).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from torch.utils.flop_counter import FlopCounterMode

from rectifiers import models
from rectifiers.study import CALIBRATION, CONF, STUDIES, grid
from rectifiers.train import identity

ROOT = Path(__file__).resolve().parents[1]


def study_runs(profile: str) -> list:
    """The distinct runs (configs) of every study at this profile; shared baselines count once."""
    runs = {}
    with initialize_config_dir(str(CONF), version_base="1.3"):
        for name in (CALIBRATION, *STUDIES):
            cfg = compose("train", overrides=[f"+study={name}", f"profile={profile}"], return_hydra_config=True)
            for cell in grid(cfg.hydra.sweeper.params):
                run = compose("train", overrides=[f"+study={name}", f"profile={profile}"]
                              + [f"{k}={v}" for k, v in cell.items()])
                runs.setdefault(json.dumps(identity(run), sort_keys=True), run)
    return list(runs.values())


def measure(cfg, steps: int = 6) -> dict:
    """Training and inference images/s on one thread, and training FLOPs per image."""
    torch.manual_seed(0)
    model = models.build_model(cfg.model, cfg.activation).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    b = cfg.optim.batch_size
    x = torch.randn(b, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (b,))

    def train_step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with FlopCounterMode(display=False) as fc:
        train_step()
    n = max(1, steps * 128 // b)
    t = time.perf_counter()
    for _ in range(n):
        train_step()
    train_ips = n * b / (time.perf_counter() - t)
    model.eval()
    xe = torch.randn(500, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        model(xe)
        t = time.perf_counter()
        model(xe)
        infer_ips = 500 / (time.perf_counter() - t)
    return {"train": train_ips, "infer": infer_ips, "flops_per_image": fc.get_total_flops() / b}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--gpu-tflops", type=float, default=50.0,
                    help="assumed sustained TFLOP/s of one GPU when no results/bench/gpu.json exists")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    runs = study_runs(args.profile)
    shapes, cpu_s, flops = {}, 0.0, 0.0
    for cfg in runs:
        key = (cfg.model.name, cfg.model.depth, cfg.model.width, cfg.optim.batch_size)
        if key not in shapes:
            shapes[key] = measure(cfg)
        tp = shapes[key]
        n_train = (cfg.data.get("train_size") or 50_000) * cfg.optim.epochs
        n_infer = cfg.data.eval_size * (cfg.optim.epochs + 1) + cfg.monitor.probe_size * (cfg.optim.epochs + 1) + 10_000
        cpu_s += n_train / tp["train"] + n_infer / tp["infer"]
        flops += (n_train + n_infer / 3) * tp["flops_per_image"]
    print(f"profile {args.profile}: {len(runs)} runs over {len(STUDIES) + 1} studies ({CALIBRATION}, {', '.join(STUDIES)}), "
          f"{len(shapes)} distinct model shapes measured on this machine")
    print(f"  CPU estimate: {cpu_s / 60:.0f} core-minutes, {cpu_s / 60 / args.jobs:.0f} min of wall time with "
          f"{args.jobs} single-threaded jobs (throughput measured now, 1 thread per job)")
    gpu_json = ROOT / "results" / "bench" / "gpu.json"
    if gpu_json.exists():
        bench = json.loads(gpu_json.read_text())
        cpu_json = ROOT / "results" / "bench" / "cpu.json"
        speedup = min(bench["models"][m]["ours"] / json.loads(cpu_json.read_text())["models"][m]["ours"]
                      for m in bench["models"])
        print(f"  GPU estimate: {cpu_s / speedup / 60:.0f} min on one {bench['device']} "
              f"(measured GPU/CPU speed-up {speedup:.0f}x from results/bench)")
    else:
        print(f"  GPU estimate: {flops / (args.gpu_tflops * 1e12) / 60:.0f} min on one GPU: {flops / 1e15:.1f} PFLOP "
              f"(counted) at an ASSUMED {args.gpu_tflops:g} TFLOP/s sustained; no GPU measurement in "
              "results/bench/gpu.json yet (run `make bench` on a GPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
