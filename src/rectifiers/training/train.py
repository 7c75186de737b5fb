"""One training run: config in, run directory out (experiment/records.py; docs/design.md section 3).
train() reads top to bottom: skip a run finished before, set up, resume, train epoch by epoch,
finish. All that a run changes as it trains is its Progress, which each checkpoint saves."""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from .. import activations
from ..experiment import data, records
from ..experiment.config import ConfigError, check_config, identity, record_dir, resolved, run_dir
from ..files import set_aside, write_atomic
from . import models, tensors
from .device import autocast_for, describe_device, keep_freed_memory, select_device
from .monitor import Monitor

log = logging.getLogger("rectifiers")
SCALARS = ("train_loss", "train_acc", "test_loss", "test_acc", "dead_ratio", "learning_rate")  # to TensorBoard


def lr_at(step: int, total: int, warmup: int, optim) -> float:
    """Learning rate for a 0-based step: linear warm-up, then cosine decay or constant."""
    if step < warmup:
        return optim.lr * (step + 1) / warmup
    if optim.schedule == "constant":
        return optim.lr
    return optim.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


@torch.no_grad()
def evaluate(model, x, y, ds, autocast, batch: int = 256) -> tuple[float, float]:
    """(accuracy, mean loss) on uint8 images x with labels y, in eval mode. Batches of 256 keep
    the activations in cache on a CPU: 1.5x faster there than batches of 1000."""
    model.eval()
    correct = torch.zeros((), device=y.device, dtype=torch.long)
    loss = torch.zeros((), device=y.device)
    for xb, yb in zip(x.split(batch), y.split(batch)):
        with autocast():
            logits = model(tensors.normalise(xb, ds.mean, ds.std))
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
        x = tensors.normalise(tensors.augment(ds.train.x[idx], gen), ds.mean, ds.std)
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


def read_checkpoint(path: Path, device: torch.device) -> dict | None:
    """The checkpoint at `path`, or None; an unreadable one is set aside and the run starts over."""
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as e:  # torch raises RuntimeError, EOFError, UnpicklingError... for a damaged file
        set_aside(path, e)
        return None


@dataclass
class Progress:
    """All that a run changes as it trains: saved in each checkpoint, summarised at the end."""
    epoch: int = 0                                # epochs completed
    metrics: list = field(default_factory=list)   # the rows of metrics.jsonl
    layers: list = field(default_factory=list)    # the rows of layers.jsonl
    elapsed: float = 0.0                          # seconds spent, over every resumption
    status: str = "running"                       # then ok, diverged or failed
    error: str | None = None


@dataclass
class Run:
    """What a run is set up with, once: its config, folders, data, network and optimiser."""
    cfg: DictConfig
    ident: dict
    out: Path                   # runs/<profile>/<run-id>/
    kept: Path | None           # where its record is copied (make train), or None
    device: torch.device
    autocast: object
    ds: tensors.CIFAR
    net: torch.nn.Module        # the module: state dicts and the monitor's hooks
    model: object               # what is called: net, or torch.compile(net)
    opt: torch.optim.Optimizer
    gen: torch.Generator        # data order and augmentation
    monitor: Monitor | None
    writer: object              # TensorBoard's SummaryWriter with logger=tensorboard, else None
    progress: Progress = field(default_factory=Progress)
    started: float = 0.0        # perf_counter() at the start, less the time spent before a resumption

    @property
    def checkpoint(self) -> Path:
        return self.out / "checkpoint.pt"


def train(cfg: DictConfig) -> dict:
    """Run (or resume, or skip) one training run and return its summary."""
    check_config(cfg)
    fp = data.content_fingerprint(cfg.data)  # checks the data first: a missing dataset stops here
    out, ident, kept = run_dir(cfg, fp), identity(cfg, fp), record_dir(cfg, fp)
    done = finished_before(ident, out, kept)
    if done:
        return done
    run = set_up(cfg, ident, out, kept)
    resume(run)
    try:
        run_epochs(run)
        run.progress.status = "ok"
    except Diverged as e:  # divergence is a result, not a crash
        run.progress.status, run.progress.error = "diverged", str(e)
    except Exception as e:  # recorded as failed, then raised: a failing cleanup never hides it
        run.progress.status, run.progress.error = "failed", f"{type(e).__name__}: {e}"
        try:
            finish(run)
        except Exception:
            log.exception("%s: the failed run's summary could not be written", out.name)
        raise
    return finish(run)


def finished_before(ident: dict, out: Path, kept: Path | None) -> dict | None:
    """The summary of this run if it finished before, its record first; a lost record is copied again."""
    for where in (kept, out):
        done = records.read_summary(where / "summary.json") if where else None
        if done and done["status"] in records.FINISHED and done["config"] == ident:
            if kept and where == out:
                records.save_record(out, kept)
            log.info("%s (finished before: skipped)", records.outcome_line(done, where))
            return done
    return None


def set_up(cfg: DictConfig, ident: dict, out: Path, kept: Path | None) -> Run:
    """Data on the device, the seeded network, its optimiser and monitor, and config.yaml written."""
    if cfg.runtime.threads:
        torch.set_num_threads(cfg.runtime.threads)
    keep_freed_memory()
    device = select_device(cfg.runtime)
    ds = tensors.load(cfg.data, cfg.monitor.probe_size, device)  # bad data fails here, nothing written
    if cfg.optim.batch_size > len(ds.train.y):
        raise ConfigError(f"optim.batch_size={cfg.optim.batch_size} exceeds the {len(ds.train.y)} training images: lower it")  # noqa: E501
    torch.manual_seed(cfg.seed)
    net = models.build_model(cfg.model, cfg.activation).to(device, memory_format=torch.channels_last)
    model = torch.compile(net) if cfg.runtime.compile else net
    slope_wd = cfg.activation.get("weight_decay", cfg.optim.weight_decay)
    opt = torch.optim.SGD(activations.param_groups(net, cfg.optim.weight_decay, slope_wd),
                          lr=cfg.optim.lr, momentum=cfg.optim.momentum, nesterov=cfg.optim.nesterov)
    probe_x = tensors.normalise(ds.train.x[ds.probe_idx], ds.mean, ds.std)
    monitor = Monitor(net, probe_x, cfg.monitor.tau, cfg.monitor.chunk) if cfg.monitor.enabled else None
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "config.yaml", OmegaConf.to_yaml(resolved(cfg)))
    writer = instantiate(cfg.logger, log_dir=str(out / "tensorboard")) if cfg.get("logger") else None
    return Run(cfg, ident, out, kept, device, autocast_for(device), ds, net, model, opt,
               torch.Generator().manual_seed(cfg.seed), monitor, writer)


def resume(run: Run) -> None:
    """Continue from the checkpoint of an interrupted run of the same identity, if there is one."""
    ck = read_checkpoint(run.checkpoint, run.device)
    if ck is not None and ck.get("config") == run.ident:
        run.net.load_state_dict(ck["model"])
        run.opt.load_state_dict(ck["optimizer"])
        run.gen.set_state(ck["generator"])
        if run.monitor:
            run.monitor.load_state_dict(ck["monitor"])
        run.progress = Progress(**ck["state"])
        log.info("%s: resuming after epoch %d", run.out.name, run.progress.epoch)
    run.started = time.perf_counter() - run.progress.elapsed


def save_checkpoint(run: Run) -> None:
    state = {"config": run.ident, "model": run.net.state_dict(), "optimizer": run.opt.state_dict(),
             "generator": run.gen.get_state(), "monitor": run.monitor.state_dict() if run.monitor else None,
             "state": asdict(run.progress)}
    write_atomic(run.checkpoint, write=lambda tmp: torch.save(state, tmp))


def evaluate_and_measure(run: Run, row: dict) -> dict:
    """Add the eval subset's accuracy and loss to an epoch's row and, on a monitor epoch, the
    dead-unit measurement (its per-layer rows go to the progress)."""
    ds, epoch = run.ds, row["epoch"]
    row["test_acc"], row["test_loss"] = evaluate(run.model, ds.test.x[ds.eval_idx], ds.test.y[ds.eval_idx],
                                                 ds, run.autocast)
    if run.monitor and (epoch % run.cfg.monitor.every == 0 or epoch == run.cfg.optim.epochs):
        network, layers = run.monitor.measure(epoch, run.autocast)
        row.update(network)
        run.progress.layers += layers
    return row


def run_epochs(run: Run) -> None:
    """From where the run stands: the measurement at initialisation, then each epoch trained and
    measured, its rows and a checkpoint written after it."""
    cfg, p = run.cfg, run.progress
    if p.epoch == 0:
        p.metrics.append(evaluate_and_measure(run, {
            "epoch": 0, "learning_rate": None, "train_loss": None, "train_acc": None, "images": 0,
            "images_per_s": None, "seconds": 0.0}))
        report(run, p.metrics[-1])
    for epoch in range(p.epoch + 1, cfg.optim.epochs + 1):
        t0, monitor_t0 = time.perf_counter(), run.monitor.seconds if run.monitor else 0.0
        row = train_epoch(run.model, run.opt, run.ds, run.gen, epoch, cfg.optim, run.autocast, run.monitor)
        row = evaluate_and_measure(run, row)
        row["seconds"] = time.perf_counter() - t0
        row["monitor_seconds"] = run.monitor.seconds - monitor_t0 if run.monitor else None  # within "seconds"
        p.metrics.append(row)
        p.epoch, p.elapsed = epoch, time.perf_counter() - run.started
        write_rows(run)
        save_checkpoint(run)
        report(run, row)


def report(run: Run, row: dict) -> None:
    """An epoch's row to TensorBoard (logger=tensorboard) and, with runtime.progress, as one log line."""
    if run.writer:
        for key in SCALARS:
            if row.get(key) is not None:
                run.writer.add_scalar(key, row[key], row["epoch"])
    if run.cfg.runtime.progress and row["epoch"] > 0:
        left = (run.cfg.optim.epochs - row["epoch"]) * row["seconds"]
        log.info("[%s] epoch %d/%d  loss %.3f  test %.1f%% of %d images  dead %.1f%%  %.0f img/s  ~%.0fs left",
                 run.out.name, row["epoch"], run.cfg.optim.epochs, row["train_loss"], 100 * row["test_acc"],
                 len(run.ds.eval_idx), 100 * row.get("dead_ratio", float("nan")), row["images_per_s"], left)


def write_rows(run: Run) -> None:  # metrics.jsonl and layers.jsonl, whole each time
    records.write_jsonl(run.out / "metrics.jsonl", run.progress.metrics)
    records.write_jsonl(run.out / "layers.jsonl", run.progress.layers)


def finish(run: Run) -> dict:
    """The summary, after a last evaluation on the full test set (and any validation images) if the
    run ended ok (and runtime.keep_weights: weights.pt); a finished run drops its checkpoint, copies its record."""
    p, ds, final = run.progress, run.ds, {}
    for name, split in (("test", ds.test), ("val", ds.val)) if p.status == "ok" else ():
        if split is not None:
            final[f"final_{name}_acc"], final[f"final_{name}_loss"] = evaluate(run.model, split.x, split.y, ds, run.autocast)  # noqa: E501
    summary = {**records.summarise(run.out.name, run.cfg, run.ident, asdict(p), final),
               "wall_time_s": time.perf_counter() - run.started,
               "monitor_seconds": run.monitor.seconds if run.monitor else None,  # within wall_time_s
               "train_images": len(ds.train.y),
               **records.machine(describe_device(run.device), torch.backends.cpu.get_cpu_capability(),
                                 torch.__version__, torch.get_num_threads()),
               "data_fingerprint": ds.fingerprint, "data_description": ds.description}
    write_rows(run)
    if p.status == "ok" and run.cfg.runtime.keep_weights:  # asked for; before the summary, which marks a run done
        write_atomic(run.out / records.WEIGHTS, write=lambda tmp: torch.save(run.net.state_dict(), tmp))
    write_atomic(run.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    if run.writer:
        run.writer.close()
    if p.status in records.FINISHED:
        run.checkpoint.unlink(missing_ok=True)
        if run.kept:
            records.save_record(run.out, run.kept)
    (log.error if p.status == "failed" else log.info)(records.outcome_line(summary, run.out))
    return summary
