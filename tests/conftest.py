"""Shared fixtures: Hydra composition of conf/ and a tiny, fast synthetic training config.

Every training test runs on synthetic data with a 4-channel, depth-4 plain CNN, one CPU
thread and runs_dir under pytest's tmp_path, so the whole suite stays well under a
couple of minutes even on a busy two-core machine.
"""
from __future__ import annotations

import json
from pathlib import Path

import hydra
import pytest
import torch

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
