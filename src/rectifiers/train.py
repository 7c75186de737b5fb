"""One training run: config in, run directory out (docs/design.md section 3).

runs/<profile>/<run-id>/ holds config.yaml, metrics.jsonl (one line per epoch, epoch 0 is
initialisation), layers.jsonl (one line per layer per measurement), checkpoint.pt while the
run is in progress, and summary.json, written last and atomically.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from . import activations, data, models
from .config import ConfigError, check_config, identity, record_dir, run_dir, run_id  # noqa: F401 (imported from here too)
from .monitor import Monitor

log = logging.getLogger("rectifiers")
FINISHED = ("ok", "diverged")


def lr_at(step: int, total: int, warmup: int, optim) -> float:
    """Learning rate for a 0-based step: linear warm-up, then cosine decay or constant."""
    if step < warmup:
        return optim.lr * (step + 1) / warmup
    if optim.schedule == "constant":
        return optim.lr
    return optim.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def select_device(runtime) -> torch.device:
    if runtime.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("runtime.device=cuda but no CUDA device is visible: use runtime.device=auto")
    if runtime.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(runtime.device)


def keep_freed_memory() -> None:
    """Let glibc's malloc keep freed memory for reuse instead of handing it back to the OS. By
    default each training step's activations (8-17 MB at batch 128) come from fresh pages, and
    their page faults cost about a fifth of a small CNN's step time on a CPU."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc (macOS, musl): nothing to tune
    libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: heap, not mmap, up to its maximum of 32 MiB
    libc.mallopt(-1, 1 << 30)   # M_TRIM_THRESHOLD: do not shrink the heap after every free


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA; plain fp32 on CPU."""
    if device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


@lru_cache(maxsize=1)
def git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "conf", "scripts"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions() -> dict:
    """Package versions, read from their metadata: importing torchvision would cost a second."""
    from importlib.metadata import version
    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": version("torchvision"),
            "numpy": version("numpy"), "hydra": version("hydra-core")}


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"cpu ({platform.machine()}, {n} thread{'s' if n != 1 else ''})"


def cpu_model() -> str:
    """The CPU's model name: results are bit-identical only on one kind of CPU."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_jsonl(path: Path, records: list[dict]) -> None:
    write_atomic(path, "".join(json.dumps(r) + "\n" for r in records))


@torch.no_grad()
def evaluate(model, x, y, ds, autocast, batch: int = 256) -> tuple[float, float]:
    """(accuracy, mean loss) on uint8 images x with labels y, in eval mode. Batches of 256 keep
    the activations in cache on a CPU: 1.5x faster there than batches of 1000."""
    model.eval()
    correct = torch.zeros((), device=y.device, dtype=torch.long)
    loss = torch.zeros((), device=y.device)
    for xb, yb in zip(x.split(batch), y.split(batch)):
        with autocast():
            logits = model(data.normalise(xb, ds.mean, ds.std))
        loss += F.cross_entropy(logits.float(), yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    model.train()
    return correct.item() / len(y), loss.item() / len(y)


class Diverged(Exception):
    """A non-finite loss: the run stops and is recorded as diverged."""


def train_epoch(model, opt, ds, gen, epoch: int, optim, autocast, monitor) -> dict:
    """One pass over the training subset in shuffled, augmented batches (the last partial
    batch is dropped); returns the epoch's training metrics."""
    B, n = optim.batch_size, len(ds.train.y)
    steps = n // B
    total, warmup = steps * optim.epochs, steps * optim.warmup_epochs
    t0 = time.perf_counter()
    perm = torch.randperm(n, generator=gen).to(ds.train.x.device)
    loss_sum = torch.zeros((), device=ds.train.x.device)
    correct = torch.zeros((), device=ds.train.x.device, dtype=torch.long)
    for i in range(steps):
        step = (epoch - 1) * steps + i
        idx = perm[i * B:(i + 1) * B]
        x = data.normalise(data.augment(ds.train.x[idx], gen), ds.mean, ds.std)
        y = ds.train.y[idx]
        lr = lr_at(step, total, warmup, optim)
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast():
            logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
        if not torch.isfinite(loss):
            raise Diverged(f"non-finite loss at epoch {epoch}, step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if monitor:
            monitor.accumulate_grads()
        opt.step()
        loss_sum += loss.detach()
        correct += (logits.argmax(1) == y).sum()
    seconds = time.perf_counter() - t0
    return {"epoch": epoch, "learning_rate": lr, "train_loss": loss_sum.item() / steps,
            "train_acc": correct.item() / (steps * B), "images": steps * B, "images_per_s": steps * B / seconds}


def read_summary(path: Path) -> dict | None:
    """The run summary at `path`, or None if there is none. An unreadable one is set aside and
    named, so that its run is trained again instead of crashing every rerun."""
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text())
        if not isinstance(summary, dict) or not {"run_id", "status", "config"} <= summary.keys():
            raise ValueError("not a run summary")
        return summary
    except ValueError as e:  # also JSONDecodeError and UnicodeDecodeError
        data.set_aside(path, e)
        return None


def read_checkpoint(path: Path, device: torch.device) -> dict | None:
    """The checkpoint at `path`, or None; an unreadable one is set aside and the run starts over."""
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as e:  # torch raises RuntimeError, EOFError, UnpicklingError... for a damaged file
        data.set_aside(path, e)
        return None


def outcome_line(summary: dict, where: Path) -> str:
    """How a run ended, in one line: <run-id> ok · final test 36.9% · runs/<profile>/<run-id>/
    (a diverged or failed run says what happened instead of its accuracy)."""
    ok = summary["status"] == "ok" and summary.get("final_test_acc") is not None
    detail = f"final test {100 * summary['final_test_acc']:.1f}%" if ok else summary.get("error")
    return f"{summary['run_id']} {summary['status']} · {detail} · {where}/"


def train(cfg: DictConfig) -> dict:
    """Run (or resume, or skip) one training run and return its summary."""
    check_config(cfg)
    fp = data.content_fingerprint(cfg.data)  # checks the data first: a missing dataset stops here
    out, ident, kept = run_dir(cfg, fp), identity(cfg, fp), record_dir(cfg, fp)
    summary_path = out / "summary.json"
    for where in (kept, out):
        done = read_summary(where / "summary.json") if where else None
        if done and done["status"] in FINISHED and done["config"] == ident:
            if kept and where == out:  # the record was lost or damaged: copy it again
                save_record(out, kept)
            log.info("%s (finished before: skipped)", outcome_line(done, where))
            return done

    if cfg.runtime.threads:
        torch.set_num_threads(cfg.runtime.threads)
    keep_freed_memory()
    device = select_device(cfg.runtime)
    autocast = autocast_for(device)
    ds = data.load(cfg.data, cfg.monitor.probe_size, device)  # bad data fails here, nothing written
    B, n = cfg.optim.batch_size, len(ds.train.y)
    if B > n:
        raise ConfigError(f"optim.batch_size={B} exceeds the {n} training images: lower it")

    torch.manual_seed(cfg.seed)
    net = models.build_model(cfg.model, cfg.activation).to(device, memory_format=torch.channels_last)
    model = torch.compile(net) if cfg.runtime.compile else net
    slope_wd = cfg.activation.get("weight_decay", cfg.optim.weight_decay)
    opt = torch.optim.SGD(activations.param_groups(net, cfg.optim.weight_decay, slope_wd),
                          lr=cfg.optim.lr, momentum=cfg.optim.momentum, nesterov=cfg.optim.nesterov)
    gen = torch.Generator().manual_seed(cfg.seed)  # data order and augmentation
    probe_x = data.normalise(ds.train.x[ds.probe_idx], ds.mean, ds.std)
    monitor = Monitor(net, probe_x, cfg.monitor.tau, cfg.monitor.chunk) if cfg.monitor.enabled else None
    eval_x, eval_y = ds.test.x[ds.eval_idx], ds.test.y[ds.eval_idx]

    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    ckpt_path = out / "checkpoint.pt"
    state = {"epoch": 0, "metrics": [], "layers": [], "elapsed": 0.0, "status": "running", "error": None}
    ck = read_checkpoint(ckpt_path, device)
    if ck is not None and ck.get("config") == ident:
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        gen.set_state(ck["generator"])
        if monitor:
            monitor.load_state_dict(ck["monitor"])
        state = ck["state"]
        log.info("%s: resuming after epoch %d", out.name, state["epoch"])

    def evaluate_and_measure(record: dict) -> dict:
        record["test_acc"], record["test_loss"] = evaluate(model, eval_x, eval_y, ds, autocast)
        if monitor and (record["epoch"] % cfg.monitor.every == 0 or record["epoch"] == cfg.optim.epochs):
            network, layers = monitor.measure(record["epoch"], autocast)
            record.update(network)
            state["layers"] += layers
        return record

    t_start = time.perf_counter() - state["elapsed"]
    try:
        if state["epoch"] == 0:  # the measurement at initialisation
            state["metrics"].append(evaluate_and_measure(
                {"epoch": 0, "learning_rate": None, "train_loss": None, "train_acc": None, "images": 0,
                 "images_per_s": None, "seconds": 0.0}))
        for epoch in range(state["epoch"] + 1, cfg.optim.epochs + 1):
            t0, monitor_t0 = time.perf_counter(), monitor.seconds if monitor else 0.0
            record = evaluate_and_measure(train_epoch(model, opt, ds, gen, epoch, cfg.optim, autocast, monitor))
            record["seconds"] = time.perf_counter() - t0
            record["monitor_seconds"] = monitor.seconds - monitor_t0 if monitor else None  # within "seconds"
            state["metrics"].append(record)
            state.update(epoch=epoch, elapsed=time.perf_counter() - t_start)
            write_jsonl(out / "metrics.jsonl", state["metrics"])
            write_jsonl(out / "layers.jsonl", state["layers"])
            torch.save({"config": ident, "model": net.state_dict(), "optimizer": opt.state_dict(),
                        "generator": gen.get_state(), "monitor": monitor.state_dict() if monitor else None,
                        "state": state}, ckpt_path.with_suffix(".tmp"))
            os.replace(ckpt_path.with_suffix(".tmp"), ckpt_path)
            if cfg.runtime.progress:
                left = (cfg.optim.epochs - epoch) * record["seconds"]
                print(f"[{out.name}] epoch {epoch}/{cfg.optim.epochs}  loss {record['train_loss']:.3f}  "
                      f"test {100 * record['test_acc']:.1f}%  dead {100 * record.get('dead_ratio', float('nan')):.1f}%  "
                      f"{record['images_per_s']:.0f} img/s  ~{left:.0f}s left", flush=True)
        state["status"] = "ok"
    except Diverged as e:  # divergence is a result, not a crash
        state.update(status="diverged", error=str(e))
    except Exception as e:  # recorded as failed, then raised to the caller
        state.update(status="failed", error=f"{type(e).__name__}: {e}")
        raise
    finally:
        if state["status"] != "running":
            summary = summarise(cfg, ident, out.name, state, ds, device, model, monitor, autocast,
                                time.perf_counter() - t_start)
            write_jsonl(out / "metrics.jsonl", state["metrics"])
            write_jsonl(out / "layers.jsonl", state["layers"])
            write_atomic(summary_path, json.dumps(summary, indent=1) + "\n")
            if state["status"] in FINISHED:  # a failed run keeps its checkpoint and resumes
                ckpt_path.unlink(missing_ok=True)
                if kept:
                    save_record(out, kept)
            (log.error if state["status"] == "failed" else log.info)(outcome_line(summary, out))
    return summary


RECORD_FILES = ("config.yaml", "metrics.jsonl", "layers.jsonl", "summary.json")  # what results/ keeps of a run


def save_record(out: Path, record: Path) -> None:
    """Copy a finished run's record (not its checkpoint) to the results folder, summary last,
    so that a record with a summary is complete."""
    record.mkdir(parents=True, exist_ok=True)
    for name in RECORD_FILES:
        write_atomic(record / name, (out / name).read_text())


def summarise(cfg, ident, rid, state, ds, device, model, monitor, autocast, wall) -> dict:
    m = state["metrics"]
    trained = [r for r in m if r["epoch"] > 0]
    dead = [r["dead_ratio"] for r in m if "dead_ratio" in r]
    final = {}
    if state["status"] == "ok":
        acc, loss = evaluate(model, ds.test.x, ds.test.y, ds, autocast)
        final = {"final_test_acc": acc, "final_test_loss": loss}
    last_layers = [r for r in state["layers"] if r["epoch"] == (m[-1]["epoch"] if m else -1)]
    return {
        "run_id": rid, "status": state["status"], "error": state["error"],
        "profile": cfg.profile.name, "seed": cfg.seed, "config": ident,
        "final_test_acc": final.get("final_test_acc"), "final_test_loss": final.get("final_test_loss"),
        "best_test_acc": max((r["test_acc"] for r in trained), default=None),
        "final_train_loss": trained[-1]["train_loss"] if trained else None,
        "final_train_acc": trained[-1]["train_acc"] if trained else None,
        "epochs_completed": state["epoch"],
        "dead_ratio_init": dead[0] if dead else None,
        "dead_ratio_final": dead[-1] if dead else None,
        "dead_ratio_peak": max(dead) if dead else None,
        "ever_dead": m[-1].get("ever_dead") if m else None,
        "revived": m[-1].get("revived") if m else None,
        "units": sum(r["units"] for r in last_layers),
        "prelu_slopes": [{k: r[k] for k in ("layer", "name", "slope_mean", "slope_min", "slope_max")}
                         for r in last_layers if r["slope_mean"] is not None],
        "wall_time_s": wall,
        "monitor_seconds": monitor.seconds if monitor else None,  # included in wall_time_s
        "images_per_s": sum(r["images_per_s"] for r in trained) / len(trained) if trained else None,
        "train_images": len(ds.train.y),
        "device": describe_device(device), "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),  # oneDNN's kernels follow it
        "versions": versions(), "git_commit": git_commit(),
        "data_fingerprint": ds.fingerprint, "data_description": ds.description,
        "command": " ".join(sys.argv),
    }
