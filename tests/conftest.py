"""Shared fixtures: Hydra composition of conf/ and a tiny, fast synthetic training config.

Every training test runs on synthetic data with a 4-channel, depth-4 plain CNN, one CPU
thread and runs_dir under pytest's tmp_path, so the whole suite stays well under a
couple of minutes even on a busy two-core machine.
"""
from __future__ import annotations

import json
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch
from PIL import Image

from rectifiers.experiment.data import CLASSES

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

# Overrides that make a training run take well under a second on one CPU thread.
TINY = (
    "profile=smoke",
    "model.width=4",
    "model.depth=4",
    "data.synthetic_train=200",
    "data.synthetic_test=100",
    "monitor.probe_size=32",
    "optim.epochs=1",
    "runtime.threads=1",
    "runtime.progress=false",
)

# Fields that measure time (or how the process was started), not the result.
TIMING_METRICS = ("seconds", "monitor_seconds", "images_per_s")
TIMING_SUMMARY = ("wall_time_s", "monitor_seconds", "images_per_s", "command")


def compose_cfg(overrides=()):
    """Compose conf/train.yaml with `overrides`, exactly as scripts/train.py would."""
    with hydra.initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return hydra.compose("train", overrides=list(overrides))


@pytest.fixture
def compose():
    """compose(overrides) -> DictConfig composed from conf/ via Hydra's compose API."""
    return compose_cfg


@pytest.fixture
def tiny_overrides(tmp_path):
    """tiny_overrides(*extra, runs_dir=None) -> override list for a fast synthetic run."""
    def make(*extra, runs_dir=None):
        return [*TINY, f"runs_dir={runs_dir or tmp_path / 'runs'}", *extra]
    return make


@pytest.fixture
def tiny_cfg(compose, tiny_overrides):
    """tiny_cfg(*extra, runs_dir=None) -> composed config of a fast synthetic run."""
    def make(*extra, runs_dir=None):
        return compose(tiny_overrides(*extra, runs_dir=runs_dir))
    return make


def pytest_collection_modifyitems(items):
    """The slow tests first: under `make test`'s workers (pytest -n) the longest ones then
    run beside the many short ones instead of after them. The order is otherwise kept."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """The machine is shared with long experiments: keep every test on one thread."""
    torch.set_num_threads(1)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def without(record: dict, keys) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


def files_under(path: Path) -> list[Path]:
    """Every file (not folder) under path; [] if path does not exist."""
    return sorted(p for p in Path(path).rglob("*") if p.is_file()) if Path(path).exists() else []


def load_script(name: str):
    """scripts/<name>.py, loaded to run its command (main) in this process: a fresh interpreter per
    call would import torch and Hydra again."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(name: str, argv: list[str]):
    """scripts/<name>.py's command run in this process as its command line runs it: a
    CompletedProcess with its exit status, its stdout with the package's log lines (INFO and
    up), and its stderr with sys.exit's message. What it composes (experiment/study.py) is then
    composed once per test worker, not once per call."""
    import contextlib
    import io
    import logging
    import subprocess
    out, err, logger = io.StringIO(), io.StringIO(), logging.getLogger("rectifiers")
    handler, level = logging.StreamHandler(out), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = load_script(name).main(argv)
    except SystemExit as e:
        code = e.code
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    if isinstance(code, str):  # sys.exit(message): the message on stderr, exit status 1
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess([name, *argv], code or 0, out.getvalue(), err.getvalue())


def copy_checkout(dest: Path) -> Path:
    """A copy of the working tree as a fresh clone would have it (tracked and unignored files)."""
    import shutil
    import subprocess
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    return dest


# --- training runs: their outputs, and a crash at a chosen epoch -----------------------------

def outputs(cfg):
    """(metrics, layers, summary) of a finished run, timing fields dropped."""
    from rectifiers.experiment.config import run_dir
    out = run_dir(cfg)
    metrics = [without(r, TIMING_METRICS) for r in read_jsonl(out / "metrics.jsonl")]
    layers = read_jsonl(out / "layers.jsonl")
    summary = without(json.loads((out / "summary.json").read_text()), TIMING_SUMMARY)
    return metrics, layers, summary


RESUME = ("optim.epochs=3", "activation=prelu", "monitor.every=2")  # grad sums span epochs 1-2
STEPS = 200 // 32  # steps per epoch of the tiny config


def crash_at_epoch(monkeypatch, epoch, steps_per_epoch, exc):
    """Make training raise `exc` at the first step of `epoch` (lr_at is called every step)."""
    import rectifiers.training.train as train_mod
    real = train_mod.lr_at

    def lr_at(step, total, warmup, optim):
        if step == (epoch - 1) * steps_per_epoch:
            raise exc
        return real(step, total, warmup, optim)
    monkeypatch.setattr(train_mod, "lr_at", lr_at)


def image_tree(root, seed=0):
    """A 2-image-per-class CIFAR-10 ImageFolder tree of random PNGs."""
    g = np.random.default_rng(seed)
    for split in ("train", "test"):
        for c in CLASSES:
            (root / split / c).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(g.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / split / c / f"{i}.png")
    return root
