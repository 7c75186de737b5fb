"""Rebuild results/<profile>/ from the run records committed under results/<profile>/runs/
(each finished run's config.yaml, summary.json, metrics.jsonl and layers.jsonl, copied there
by `make train`): runs.csv (one row per run), epochs.csv (per epoch), layers.csv (per layer
per measurement), study.json (knobs, levels, missing cells) and calibration.csv (the
calibration and pilot runs). The records are only read, never changed.

    python scripts/aggregate.py --profile cpu [OVERRIDES the study was trained with, e.g. model.width=4]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rectifiers.results import act_label
from rectifiers.study import CALIBRATION, CONF, SCALE_STUDIES, STUDIES, grid
from rectifiers.train import identity

COLUMNS = {"optim.lr": "lr", "optim.batch_size": "batch_size", "model.depth": "depth",
           "model.init.bias": "init_bias"}
SUMMARY_FIELDS = ("status", "error", "final_test_acc", "best_test_acc", "final_train_loss", "final_train_acc",
                  "epochs_completed", "dead_ratio_init", "dead_ratio_final", "dead_ratio_peak", "ever_dead",
                  "revived", "units", "wall_time_s", "monitor_seconds", "images_per_s", "device", "cpu",
                  "cpu_capability", "data_fingerprint", "git_commit")


def run_row(s: dict) -> dict:
    c = s["config"]
    return {"run_id": s["run_id"], "profile": s["profile"], "model": c["model"]["name"],
            "depth": c["model"]["depth"], "width": c["model"]["width"], "act": act_label(c["activation"]),
            "activation": c["activation"]["name"], "negative_slope": c["activation"].get("negative_slope"),
            "lr": c["optim"]["lr"], "batch_size": c["optim"]["batch_size"], "init_bias": c["model"]["init"]["bias"],
            "weight_scale": c["model"]["init"]["weight_scale"], "epochs": c["optim"]["epochs"],
            "train_size": s.get("train_images") or c["data"]["train_size"], "seed": s["seed"], **{k: s.get(k) for k in SUMMARY_FIELDS}}


def without_data(ident: dict) -> str:
    """A run's identity without the data fingerprint: the cell it belongs to."""
    return json.dumps({**ident, "data": {k: v for k, v in ident["data"].items() if k != "fingerprint"}},
                      sort_keys=True)


def expected_cells(profile: str, overrides: list[str], studies=STUDIES) -> tuple[dict, dict]:
    """{identity-without-data: (study, cell)} for every cell of every study, and the knobs."""
    cells, knobs = {}, {}
    with initialize_config_dir(str(CONF), version_base="1.3"):
        for name in studies:
            study = [f"+study={name}", f"profile={profile}", *(o for o in overrides if not o.startswith("hydra."))]
            cfg = compose("train", overrides=[*study, *(o for o in overrides if o.startswith("hydra."))],
                          return_hydra_config=True)
            key = cfg.study.knob
            g = grid(cfg.hydra.sweeper.params)
            base = compose("train", overrides=[*study[1:], f"model={cfg.model.name}"])
            knobs[name] = {"key": key, "column": COLUMNS[key], "model": cfg.model.name,
                           "baseline": OmegaConf.select(base, key),
                           "levels": list(dict.fromkeys(c[key] for c in g)),
                           "train_size": cfg.data.train_size, "epochs": cfg.optim.epochs}
            for cell in g:
                run = compose("train", overrides=study + [f"{k}={v}" for k, v in cell.items()])
                cells.setdefault(without_data(identity(run, fingerprint="")), (name, cell))
    return cells, knobs


def write_if_changed(path: Path, text: str) -> None:
    """Keep the old file (and its mtime) when nothing changed, so `make` rebuilds nothing."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--out", type=Path, default=Path("results"))
    ap.add_argument("overrides", nargs="*", help="Hydra overrides the study was trained with, besides data.*")
    args = ap.parse_args(argv)

    out = args.out / args.profile
    src = out / "runs"
    summaries = [json.loads(p.read_text()) for p in sorted(src.glob("*/summary.json"))]
    if not summaries:
        sys.exit(f"aggregate: no run records under {src}/ (no summary.json). "
                 f"Train first: make train PROFILE={args.profile}")
    profiles = {s["profile"] for s in summaries}
    if profiles != {args.profile}:
        sys.exit(f"aggregate: {src} mixes profiles {sorted(profiles)}; keep one profile per folder")
    cells, knobs = expected_cells(args.profile, args.overrides)
    scale_cells, scales = expected_cells(args.profile, args.overrides, SCALE_STUDIES)
    calibration_cells = expected_cells(args.profile, args.overrides, CALIBRATION)[0]
    for key, where in scale_cells.items():
        cells.setdefault(key, where)
    in_grid = [s for s in summaries if without_data(s["config"]) in cells]
    calibration = [run_row(s) for s in summaries if without_data(s["config"]) in calibration_cells]
    outside = [s["run_id"] for s in summaries if without_data(s["config"]) not in cells.keys() | calibration_cells.keys()]
    if outside:
        print(f"aggregate: {len(outside)} record(s) outside every study ignored, e.g. {', '.join(outside[:3])}")
    if not in_grid:
        sys.exit(f"aggregate: none of the {len(summaries)} records under {src}/ belongs to a study")
    fingerprints = {s["data_fingerprint"] for s in in_grid}
    if len(fingerprints) > 1:
        sys.exit(f"aggregate: records under {src} were made on different data ({len(fingerprints)} "
                 "fingerprints); keep one dataset per results folder")
    found = {without_data(s["config"]) for s in in_grid}
    missing = [{"study": st, **cell} for key, (st, cell) in cells.items() if key not in found]
    if missing:
        print(f"aggregate: {len(missing)} of {len(cells)} cells of the studies have no record yet, e.g. "
              + "; ".join(" ".join(f"{k}={v}" for k, v in m.items()) for m in missing[:5]))

    runs, epochs, layers = [], [], []
    for s in in_grid:
        row = run_row(s)
        runs.append(row)
        keys = {k: row[k] for k in ("run_id", "model", "depth", "act", "lr", "batch_size", "init_bias", "seed",
                                    "status")}
        d = src / s["run_id"]
        epochs += [{**keys, **json.loads(line)} for line in (d / "metrics.jsonl").read_text().splitlines()]
        layers += [{**keys, **json.loads(line)} for line in (d / "layers.jsonl").read_text().splitlines()]
    for name, rows in (("runs", runs), ("epochs", epochs), ("layers", layers), ("calibration", calibration)):
        write_if_changed(out / f"{name}.csv", pd.DataFrame(rows).to_csv(index=False))
    study = {"profile": args.profile, "knobs": knobs, "scales": scales, "seeds": sorted({s["seed"] for s in in_grid}),
             "cells": len(cells), "runs": len(in_grid), "missing": missing,
             "data_fingerprint": fingerprints.pop(), "data_description": in_grid[0]["data_description"]}
    write_if_changed(out / "study.json", json.dumps(study, indent=1) + "\n")
    print(f"aggregate: {len(in_grid)} records -> {out}/ (runs.csv, epochs.csv, layers.csv, study.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
