"""A run's record: what a finished run leaves behind, what it says about itself, and how its
outcome is told in one line (docs/design.md section 3). No torch: the sweep's count at the end,
aggregate.py and plan.py read records without it.

runs/<profile>/<run-id>/ holds config.yaml, metrics.jsonl (one line per epoch, epoch 0 is
initialisation), layers.jsonl (one line per layer per measurement), checkpoint.pt while the
run is in progress, summary.json, written last, and with runtime.keep_weights the final
weights of a run that ended ok (weights.pt). `make train` copies the four text files alone
to results/<profile>/runs/<run-id>/.
"""
from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import version
from pathlib import Path

from .. import activations
from ..files import set_aside, write_atomic
from ..provenance import git_commit

FINISHED = ("ok", "diverged")  # a run with either status is done; "failed" resumes from its checkpoint
RECORD_FILES = ("config.yaml", "metrics.jsonl", "layers.jsonl", "summary.json")  # what results/ keeps
# the final state dict, kept in the run folder on request (runtime.keep_weights), never in results/
WEIGHTS = "weights.pt"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    write_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))


def load_summary(path: Path) -> dict:
    """The run summary at `path`, only read: the one reader of summary.json. OSError if it
    cannot be read, ValueError if it is not a run summary."""
    summary = json.loads(path.read_text())  # JSONDecodeError and UnicodeDecodeError are ValueErrors
    if not isinstance(summary, dict) or not {"run_id", "status", "config"} <= summary.keys():
        raise ValueError("not a run summary")
    return summary


def read_summary(path: Path) -> dict | None:
    """The run summary at `path`, or None if there is none. An unreadable one is set aside and
    named, so that its run is trained again instead of crashing every rerun."""
    if not path.exists():
        return None
    try:
        return load_summary(path)
    except ValueError as e:
        set_aside(path, e)
        return None


def save_record(out: Path, record: Path) -> None:
    """Copy a finished run's record (not its checkpoint) to the results folder, summary last,
    so that a record with a summary is complete."""
    record.mkdir(parents=True, exist_ok=True)
    for name in RECORD_FILES:
        write_atomic(record / name, (out / name).read_text())


def outcome_line(summary: dict, where: Path) -> str:
    """How a run ended, in one line: <run-id> ok · final test 36.9% · runs/<profile>/<run-id>/
    (a diverged or failed run says what happened instead of its accuracy)."""
    ok = summary["status"] == "ok" and summary.get("final_test_acc") is not None
    detail = f"final test {100 * summary['final_test_acc']:.1f}%" if ok else summary.get("error")
    return f"{summary['run_id']} {summary['status']} · {detail} · {where}/"


def versions(torch_version: str) -> dict:
    """Package versions, read from their metadata: importing torchvision would cost a second."""
    return {"python": platform.python_version(), "torch": torch_version, "torchvision": version("torchvision"),
            "numpy": version("numpy"), "hydra": version("hydra-core")}


def cpu_model() -> str:
    """The CPU's model name: results are bit-identical only on one kind of CPU."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str, cpu_capability: str, torch_version: str, threads: int) -> dict:
    """Where and with what a run was made: between kinds of CPU, results differ like seeds, and so
    between thread counts, which are not part of a run's id (docs/design.md section 3)."""
    return {"device": device, "cpu": cpu_model(),
            "cpu_capability": cpu_capability,  # oneDNN picks its kernels by it
            "threads": threads,  # torch's intra-op threads: they split the sums, and so their rounding
            "versions": versions(torch_version), "git_commit": git_commit(), "command": " ".join(sys.argv)}


def summarise(run_id: str, cfg, ident: dict, progress: dict, final: dict) -> dict:
    """What a run did, from its progress (status, epochs done, metric and layer rows) and its
    final evaluation on the full test set and the validation images (empty unless it ended ok)."""
    m = progress["metrics"]
    trained = [r for r in m if r["epoch"] > 0]
    dead = [r["dead_ratio"] for r in m if "dead_ratio" in r]
    last_layers = [r for r in progress["layers"] if r["epoch"] == (m[-1]["epoch"] if m else -1)]
    return {
        "run_id": run_id, "status": progress["status"], "error": progress["error"],
        "profile": cfg.profile.name, "seed": cfg.seed, "config": ident,
        "final_test_acc": final.get("final_test_acc"), "final_test_loss": final.get("final_test_loss"),
        **({"final_val_acc": final.get("final_val_acc"), "final_val_loss": final.get("final_val_loss")}
           if cfg.data.get("val_size") else {}),  # the held-out images, in studies that choose settings
        "best_test_acc": max((r["test_acc"] for r in trained), default=None),
        "final_train_loss": trained[-1]["train_loss"] if trained else None,
        "final_train_acc": trained[-1]["train_acc"] if trained else None,
        "epochs_completed": progress["epoch"],
        "dead_ratio_init": dead[0] if dead else None,
        "dead_ratio_final": dead[-1] if dead else None,
        "dead_ratio_peak": max(dead) if dead else None,
        "ever_dead": m[-1].get("ever_dead") if m else None,
        "revived": m[-1].get("revived") if m else None,
        "units": sum(r["units"] for r in last_layers),
        "prelu_slopes": [{k: r[k] for k in ("layer", "name", "slope_mean", "slope_min", "slope_max")}
                         for r in last_layers if r["slope_mean"] is not None],
        "images_per_s": sum(r["images_per_s"] for r in trained) / len(trained) if trained else None,
    }


SUMMARY_FIELDS = ("status", "error", "final_test_acc", "best_test_acc", "final_train_loss", "final_train_acc",
                  "epochs_completed", "dead_ratio_init", "dead_ratio_final", "dead_ratio_peak", "ever_dead",
                  "revived", "units", "wall_time_s", "monitor_seconds", "images_per_s", "device", "cpu",
                  "cpu_capability", "data_fingerprint", "git_commit")


def run_row(s: dict) -> dict:
    """A run's row of the results tables (runs.csv, calibration.csv, tuned.csv): its settings as
    columns, then its outcome; with validation images (the tuned study) their size and accuracy too."""
    c = s["config"]
    return {"run_id": s["run_id"], "profile": s["profile"], "model": c["model"]["name"],
            "depth": c["model"]["depth"], "width": c["model"]["width"], "act": activations.label(c["activation"]),
            "activation": c["activation"]["name"], "negative_slope": c["activation"].get("negative_slope"),
            "lr": c["optim"]["lr"], "batch_size": c["optim"]["batch_size"], "init_bias": c["model"]["init"]["bias"],
            "weight_scale": c["model"]["init"]["weight_scale"], "epochs": c["optim"]["epochs"],
            "train_size": s.get("train_images") or c["data"]["train_size"], "seed": s["seed"],
            **{k: s.get(k) for k in SUMMARY_FIELDS},
            **({"val_size": c["data"]["val_size"], "final_val_acc": s.get("final_val_acc")}
               if "val_size" in c["data"] else {})}
