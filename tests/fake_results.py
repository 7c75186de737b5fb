"""A small synthetic results set with the schema of scripts/aggregate.py, for figure,
table and paper tests. Values are random but shaped like a study: ReLU dies at the most
stressful level of each knob; one run diverges; the plain CNN also has runs at 4x the
grid's budget and the ResNet a trained set, as the accuracy claims need."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from rectifiers.activations import by_label
from rectifiers.knobs import KNOBS as KNOB_TABLE

# label -> (config name, negative slope), from the activation table
ACTS = {a: (by_label()[a].name, by_label()[a].params.get("negative_slope"))
        for a in ("relu", "leaky_relu_0.01", "leaky_relu_0.1", "leaky_relu_0.3", "prelu")}


def study_knob(column: str, model: str, levels: list) -> dict:
    """A knob of study.json: its config key and column from the knob table, levels baseline first."""
    return {"key": KNOB_TABLE[column].key, "column": column, "model": model, "baseline": levels[0], "levels": levels}


KNOBS = {"lr": study_knob("lr", "plain", [0.02, 0.05, 0.1]),
         "batch_size": study_knob("batch_size", "plain", [32, 8, 4]),
         "depth": study_knob("depth", "plain", [8, 14, 20]),
         "init_bias": study_knob("init_bias", "plain", [0.0, -0.25, -0.5]),
         "resnet": study_knob("depth", "resnet", [20])}
BASE = {"model": "plain", "depth": 8, "lr": 0.02, "batch_size": 32, "init_bias": 0.0}


def cells():
    seen = set()
    for knob, k in KNOBS.items():
        for i, level in enumerate(k["levels"]):
            cfg = dict(BASE) if k["model"] == "plain" else {**BASE, "model": "resnet"}
            cfg[k["column"]] = level
            key = tuple(cfg.items())
            if key not in seen:
                seen.add(key)
                yield cfg, i / max(1, len(k["levels"]) - 1)  # stress in [0, 1]


def copy_results(results_dir: Path, dest: Path) -> Path:
    """A copy of a results folder's files (not its runs/), to break one of them in a test."""
    dest.mkdir(parents=True)
    for f in results_dir.glob("*.*"):
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


def fake_tuned(rng) -> pd.DataFrame:
    """tuned.csv: the grid (3 selection seeds) and, at every rate, the comparison seeds; the
    validation accuracy peaks at 0.02, and ReLU at depth 20 diverges at 0.1."""
    rows = []
    for depth in (8, 20):
        for act, (name, slope) in ACTS.items():
            for lr in (0.005, 0.01, 0.02, 0.05, 0.1):
                for seed in (0, 1, 2, *range(10, 20)):
                    diverged = act == "relu" and depth == 20 and lr == 0.1
                    val = 0.4 - 0.3 * abs(np.log10(lr / 0.02)) + 0.02 * rng.standard_normal() + 0.02 * (act != "relu")
                    rows.append({"run_id": f"plain{depth}-{name}-t{lr:g}-s{seed}", "model": "plain", "depth": depth,
                                 "act": act, "activation": name, "negative_slope": slope, "lr": lr, "seed": seed,
                                 "status": "diverged" if diverged else "ok",
                                 "final_val_acc": None if diverged else val,
                                 "final_test_acc": None if diverged else val - 0.01,
                                 "dead_ratio_final": None if diverged else 0.01,
                                 "dead_ratio_peak": None if diverged else 0.02,
                                 "val_size": 5000})
    return pd.DataFrame(rows)


def write_fake_results(out: Path, seeds: int = 3, epochs: int = 5, profile: str = "fake") -> Path:
    rng = np.random.default_rng(0)
    out.mkdir(parents=True, exist_ok=True)
    runs, ep_rows, layer_rows = [], [], []
    n = 0
    for cfg, stress in cells():
        for act, (name, slope) in ACTS.items():
            for seed in range(seeds):
                n += 1
                rid = f"{cfg['model']}{cfg['depth']}-{name}-{n:06x}-s{seed}"
                dies = act == "relu" and stress == 1.0
                status = "diverged" if (act == "prelu" and stress == 1.0 and seed == 0) else "ok"
                acc = 0.1 if dies else 0.35 + 0.05 * rng.standard_normal() - 0.05 * stress
                dead_final = 0.6 + 0.05 * (seed - 1) if dies else max(0.0, 0.02 * stress + 0.01 * rng.standard_normal())
                keys = {"run_id": rid, **cfg, "act": act, "seed": seed, "status": status}
                n_layers = 7 if cfg["model"] == "plain" else 19
                units = [16] * n_layers
                dead_hist = []
                for e in range(epochs + 1):
                    d = dead_final * e / epochs
                    dead_hist.append(d)
                    ep_rows.append({**keys, "epoch": e, "learning_rate": None if e == 0 else cfg["lr"],
                                    "train_loss": None if e == 0 else 2.3 - 0.1 * e,
                                    "train_acc": None if e == 0 else acc * e / epochs,
                                    "test_acc": 0.1 + (acc - 0.1) * e / epochs, "test_loss": 2.3 - 0.1 * e,
                                    "seconds": 0.0 if e == 0 else 5.0, "images_per_s": None if e == 0 else 1000.0,
                                    "dead_ratio": d, "sparsity": 0.5 + d / 2, "dormant_ratio": d + 0.1,
                                    "revived": int(e * (act != "relu")), "ever_dead": int(d * sum(units)) + e,
                                    "revival_ratio": 0.1 * (act != "relu")})
                    for layer in range(n_layers):
                        slope_v = 0.25 - 0.02 * layer * e / epochs if name == "prelu" else None
                        layer_rows.append({**keys, "epoch": e, "layer": layer, "name": f"{layer}.act",
                                           "units": units[layer], "dead": round(d * units[layer]),
                                           "dead_ratio": round(d * units[layer]) / units[layer],
                                           "sparsity": 0.5, "dormant_ratio": 0.1,
                                           "slope_mean": slope_v,
                                           "slope_min": None if slope_v is None else slope_v - 0.05,
                                           "slope_max": None if slope_v is None else slope_v + 0.05,
                                           "grad_norm": None if e == 0 else 0.1})
                runs.append({**keys, "profile": profile, "width": 16, "activation": name, "negative_slope": slope,
                             "weight_scale": 1.0, "epochs": epochs, "train_size": 5000, "error": None,
                             "final_test_acc": None if status == "diverged" else acc,
                             "best_test_acc": acc, "final_train_loss": 2.0, "final_train_acc": acc,
                             "epochs_completed": epochs, "dead_ratio_init": 0.0, "dead_ratio_final": dead_final,
                             "dead_ratio_peak": max(dead_hist), "ever_dead": int(dead_final * sum(units)) + 1,
                             "revived": 0 if act == "relu" else 1, "units": sum(units), "wall_time_s": 30.0,
                             "images_per_s": 1000.0, "device": "cpu (x86_64, 1 threads)",
                             "data_fingerprint": "f" * 64, "git_commit": "0" * 40})
    # longer runs of the same networks, which the accuracy claims are decided on: the plain
    # CNN at 4x the grid's budget (baseline and deepest depth) and a trained ResNet
    longer = [({**BASE, "depth": d}, 10000, 10, list(ACTS)) for d in (8, 20)]
    longer.append(({**BASE, "model": "resnet", "depth": 20, "lr": 0.1, "batch_size": 128}, 50000, 8,
                   ["relu", "leaky_relu_0.01", "leaky_relu_0.1", "prelu"]))
    for cfg, train_size, n_epochs, acts in longer:
        for act in acts:
            name, slope = ACTS[act]
            for seed in range(seeds):
                n += 1
                acc = (0.85 if cfg["model"] == "resnet" else 0.5) + 0.01 * rng.standard_normal()
                runs.append({"run_id": f"{cfg['model']}{cfg['depth']}-{name}-{n:06x}-s{seed}", **cfg, "act": act,
                             "seed": seed, "status": "ok", "profile": profile, "width": 16, "activation": name,
                             "negative_slope": slope, "weight_scale": 1.0, "epochs": n_epochs,
                             "train_size": train_size, "error": None, "final_test_acc": acc, "best_test_acc": acc,
                             "final_train_loss": 1.0, "final_train_acc": acc, "epochs_completed": n_epochs,
                             "dead_ratio_init": 0.0, "dead_ratio_final": 0.0, "dead_ratio_peak": 0.0,
                             "ever_dead": 0, "revived": 0, "units": 112, "wall_time_s": 300.0,
                             "images_per_s": 1000.0, "device": "cpu (x86_64, 1 threads)",
                             "data_fingerprint": "f" * 64, "git_commit": "0" * 40})
    # the claim rules' calibration (scripts/calibrate_claims.py), in its CSV's shape
    pd.DataFrame([dict(noise=noise, seeds=seeds, claim=c, world=role, role=role, description=f"planted world {role}",
                       simulations=10, supported={"true": 0.5, "false": 0.0, "effect": 0.8}[role],
                       contradicted={"true": 0.0, "false": 0.1, "effect": 0.0}[role],
                       inconclusive={"true": 0.5, "false": 0.9, "effect": 0.2}[role], coverage=0.95, intervals=20)
                  for noise in ("pooled", "cell") for c in range(1, 7) for role in ("true", "false", "effect")]).to_csv(
        out / "claims_calibration.csv", index=False)
    # claim 3's calibrated level and what makes each missed bar, written beside it
    pd.DataFrame([dict(claim=3, noise="pooled", world="true", seeds=seeds, simulations=10, target=0.05, level=0.02,
                       contradicted_at_level=0.05, contradicted_at_alpha=0.1)]).to_csv(out / "claim3_level.csv",
                                                                                       index=False)
    pd.DataFrame([dict(noise="cell", claim=2, world="false", verdict="supported", simulations=10, false_verdicts=3,
                       comparison="leaky_relu_0.01 @ init_bias=-0.5", share=0.67, exact=0.0)]).to_csv(
        out / "claims_calibration_drivers.csv", index=False)
    # the seed bootstrap (scripts/stability.py) and the power by sample size (scripts/power.py)
    pd.DataFrame([dict(view=view, seeds=seeds, claim=c, resamples=10, supported=0.6, contradicted=0.1,
                       inconclusive=0.3) for view in ("five seeds", "all seeds") for c in range(1, 7)]).to_csv(
        out / "stability.csv", index=False)
    pd.DataFrame([dict(seeds=n, claim=c, world=w, simulations=10, supported=min(1.0, 0.1 * c * n / 5),
                       contradicted=0.0, inconclusive=max(0.0, 1 - 0.1 * c * n / 5), core_hours=1.5 * n)
                  for n in (5, 10, 15, 20) for c in range(1, 7) for w in ("effect", "observed")]).to_csv(
        out / "power.csv", index=False)
    calibration = [{"run_id": f"cal-{i}", "depth": d, "lr": lr, "batch_size": b, "act": "relu", "seed": 0,
                    "epochs": 3, "status": "ok", "final_test_acc": 0.2 + 0.01 * i, "dead_ratio_peak": 0.01 * i}
                   for i, (d, lr, b) in enumerate((d, lr, b) for d in (8, 10) for lr in (0.01, 0.02, 0.05)
                                                   for b in (32, 128))]
    pd.DataFrame(calibration).to_csv(out / "calibration.csv", index=False)
    pd.DataFrame(runs).to_csv(out / "runs.csv", index=False)
    pd.DataFrame(ep_rows).to_csv(out / "epochs.csv", index=False)
    pd.DataFrame(layer_rows).to_csv(out / "layers.csv", index=False)
    fake_tuned(rng).to_csv(out / "tuned.csv", index=False)
    pd.DataFrame([{"depth": depth, "init_bias": 0.0, "act": act, "seed": seed, "layer": layer,
                   "second_moment": 1.0 - 0.02 * layer * (act == "relu"), "log_spread": 0.5, "cosine": 0.05 * layer,
                   "sparsity": 0.5, "dead_ratio": 0.0, "images": 64} for depth in (8, 20) for act in ACTS
                  for seed in range(2) for layer in range(depth - 1)]).to_csv(out / "signal_scale.csv", index=False)
    scales = {"plain_long": {**study_knob("depth", "plain", [8, 20]), "train_size": 10000, "epochs": 10},
              "resnet_trained": {**study_knob("depth", "resnet", [20]), "train_size": None, "epochs": 8}}
    study = {"profile": profile, "knobs": KNOBS, "scales": scales, "seeds": list(range(seeds)), "cells": len(runs),
             "runs": len(runs), "missing": [], "data_fingerprint": "f" * 64,
             "data_description": "synthetic stand-in for CIFAR-10 (made in memory)"}
    (out / "study.json").write_text(json.dumps(study, indent=1) + "\n")
    return out
