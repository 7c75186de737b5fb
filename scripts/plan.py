"""Print, per study at a profile, the runs done (a record in results/<profile>/runs/), the runs
remaining and an estimate of the time they need. A remaining run's CPU time comes from the
committed records of runs with the same model shape (seconds per trained image, evaluation
and monitor included); for a shape with no record yet, from a few steps timed now.

    python scripts/plan.py --profile cpu [--jobs 2] [--fresh] [--sample K] [DATA overrides]

With DATA overrides, --fresh or --sample it plans what `make reproduce` with the same settings
would train: the runs done are the records on that data in the store it would use (the
committed one, or the reproduction's), and --sample K counts K seeds of every cell
(--sample-trained J those of the trained ResNet; 0 leaves it out).
For a GPU it gives an estimate only from a measurement, results/bench/gpu.json (`make bench`
on the GPU): a FLOP count at an assumed throughput says nothing for networks this small.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from rectifiers.experiment import data, locate
from rectifiers.experiment.config import ConfigError, cell_of, identity
from rectifiers.experiment.data import DataError
from rectifiers.experiment.records import load_summary
from rectifiers.experiment.study import study_runs
from rectifiers.files import RESULTS
from rectifiers.studies import CALIBRATION, SCALE_STUDIES, STUDIES, TUNED
from rectifiers.training import models

ORDER = (*CALIBRATION, *STUDIES, *SCALE_STUDIES, *TUNED)  # as `make train` runs them (the tuned study's grid)


def shape(cfg) -> tuple:
    return (cfg["model"]["name"], cfg["model"]["depth"], cfg["model"]["width"], cfg["optim"]["batch_size"])


def recorded(records: Path, fingerprint: str | None = None) -> tuple[set, dict]:
    """Cell keys of the records (only those on data `fingerprint`, if given), and seconds per
    trained image by model shape."""
    done, cost = set(), {}
    for p in sorted(records.glob("*/summary.json")):
        s = load_summary(p)
        if fingerprint is None or s.get("data_fingerprint") == fingerprint:
            done.add(cell_of(s["config"]))
        images = (s.get("train_images") or s["config"]["data"]["train_size"]) * s["epochs_completed"]
        if s["status"] == "ok" and images:
            cost.setdefault(shape(s["config"]), []).append(s["wall_time_s"] / images)
    return done, {k: sorted(v)[len(v) // 2] for k, v in cost.items()}  # median


MEASURED: dict = {}  # images/s by model shape: timed once per process


def measure(cfg, steps: int = 6) -> dict:
    """Training and inference images/s on one thread."""
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
    train_step()  # warm-up
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
    return {"train": train_ips, "infer": infer_ips}


def remaining_seconds(cfg, cost: dict, tp: dict) -> float:
    """CPU seconds of one run: from the records' seconds per image of its shape, or from the
    throughput `tp` timed now."""
    per_epoch, n_test = data.sizes(cfg)
    n_train = per_epoch * cfg.optim.epochs
    if shape(cfg) in cost:
        return n_train * cost[shape(cfg)]
    n_infer = (cfg.data.eval_size + cfg.monitor.probe_size) * (cfg.optim.epochs + 1) + n_test
    return n_train / tp["train"] + n_infer / tp["infer"]


def reproduction_store(args) -> tuple[Path | None, str | None]:
    """The record store `make reproduce` with these settings would use and the fingerprint of its
    data (rectifiers.experiment.locate, without downloading and without claiming a folder); no store
    while the data is not on this machine."""
    try:
        locate.check_sample(args.profile, args.sample, args.sample_trained)
        place = locate.locate(args.profile, args.overrides, fresh=args.fresh, sample=args.sample,
                              sample_trained=args.sample_trained, name=args.name, download=False, write=False,
                              committed=RESULTS, home=RESULTS.parent / locate.HOME)
    except (locate.Refused, ConfigError, DataError) as e:
        raise SystemExit(f"plan: {e}")
    if place.fingerprint is None:
        print(f"the data DATA selects ({place.description}) is not on this machine yet: no run of it is done")
        return None, None
    store = RESULTS / args.profile / "runs" if place.name is None else \
        RESULTS.parent / locate.HOME / place.name / "results" / args.profile / "runs"
    print(f"counting the records on data {place.fingerprint[:12]} in {store}/")
    return store, place.fingerprint


def plan_line(name, cfgs, keys, done, seen, cost, totals, jobs) -> None:
    """Count a study's runs (done, left) and add the time left to `totals`; print its line."""
    n, n_done, study_s = 0, 0, 0.0
    for cfg, key in zip(cfgs, keys):
        if key in seen:
            continue
        seen.add(key)
        n += 1
        if key in done:
            n_done += 1
            continue
        if shape(cfg) not in MEASURED:
            MEASURED[shape(cfg)] = measure(cfg)
        tp = MEASURED[shape(cfg)]
        study_s += remaining_seconds(cfg, cost, tp)
    totals[0] += study_s
    print(f"  {name:16s} {n:5d} {n_done:5d} {n - n_done:5d}  {study_s / 60 / jobs:5.0f} min")


def tuned_comparison(profile: str) -> tuple[list, list]:
    """The tuned study's comparison runs (fresh seeds, one rate per activation and depth), costed
    at the grid's middle rate, and their keys: (depth, activation, seed), whatever rate is chosen."""
    from rectifiers.analysis.rules import RULES
    t = RULES.tuning
    seeds = f"hydra.sweeper.params.seed='range({t['comparison_seeds'][0]},{t['comparison_seeds'][-1] + 1})'"
    mid = t["rates"][len(t["rates"]) // 2]
    cfgs = [cfg for _, _, cfg in study_runs(profile, ["tuned"], [seeds]) if cfg.optim.lr == mid]
    return cfgs, [("tuned", cfg.model.depth, cfg.activation.name, cfg.activation.get("negative_slope"), cfg.seed)
                  for cfg in cfgs]


def tuned_done(records: Path | None, fingerprint: str | None = None) -> set:
    """tuned_comparison's keys of the tuned records (only those on data `fingerprint`, if given)."""
    out = set()
    for p in records.glob("*/summary.json") if records else []:
        s = load_summary(p)
        c = s["config"]
        if "val_size" in c["data"] and fingerprint in (None, s.get("data_fingerprint")):
            out.add(("tuned", c["model"]["depth"], c["activation"]["name"], c["activation"].get("negative_slope"),
                     c["seed"]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--fresh", action="store_true", help="as make reproduce FRESH=1")
    ap.add_argument("--sample", type=int, help="seeds per cell, as make reproduce SAMPLE=k")
    ap.add_argument("--sample-trained", type=int, help="seeds of the trained ResNet (default --sample; 0: none)")
    ap.add_argument("--name", help="the reproduction's folder, as make reproduce REPRO=name")
    ap.add_argument("overrides", nargs="*", help="the DATA overrides of make reproduce")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    store, fingerprint = RESULTS / args.profile / "runs", None
    done, cost = recorded(store)  # the costs: always the committed records'
    if args.overrides or args.fresh or args.sample is not None or args.sample_trained is not None or args.name:
        store, fingerprint = reproduction_store(args)
        done = recorded(store, fingerprint)[0] if store else set()
    seen, totals = set(), [0.0]  # CPU seconds left
    print(f"profile {args.profile}: runs per study; a run shared by two studies counts in the first")
    print(f"  {'study':16s} {'runs':>5s} {'done':>5s} {'left':>5s}  wall time left ({args.jobs} jobs)")
    for name in ORDER:
        seeds = args.sample_trained if name.startswith("resnet_") and args.sample_trained is not None else args.sample
        if seeds == 0:
            print(f"  {name:16s} not trained (--sample-trained 0)")
            continue
        sampled = [f"profile.tuned.selection_seeds={seeds}" if name in TUNED else f"profile.seeds={seeds}"]
        cfgs = [cfg for _, _, cfg in study_runs(args.profile, [name], sampled if seeds else [])]
        keys = [cell_of(identity(cfg, fingerprint="")) for cfg in cfgs]
        plan_line(name, cfgs, keys, done, seen, cost, totals, args.jobs)
    cfgs, keys = tuned_comparison(args.profile)
    plan_line("tuned: compare", cfgs, keys, tuned_done(store, fingerprint), seen, cost, totals,
              args.jobs)
    print(f"  {'':16s} (the comparison's rates are chosen after the grid: costed at {cfgs[0].optim.lr:g}; where a "
          f"chosen rate is at the grid's edge, 3 runs more for each such activation and depth)")
    cpu_s = totals[0]
    print(f"  CPU: {cpu_s / 60:.0f} core-minutes left, {cpu_s / 60 / args.jobs:.0f} min of wall time with {args.jobs} "
          "single-threaded jobs (seconds per image from the records of the same model shape, or timed now)")
    gpu_json = RESULTS / "bench" / "gpu.json"
    if gpu_json.exists():
        bench = json.loads(gpu_json.read_text())
        cpu_json = RESULTS / "bench" / "cpu.json"
        speedup = min(bench["models"][m]["ours"] / json.loads(cpu_json.read_text())["models"][m]["ours"]
                      for m in bench["models"])
        print(f"  GPU: {cpu_s / speedup / 60:.0f} min on one {bench['device']} "
              f"(measured GPU/CPU speed-up {speedup:.0f}x from results/bench)")
    else:
        print("  GPU: no estimate without a measurement: run `make bench` on the GPU (results/bench/gpu.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
