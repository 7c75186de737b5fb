"""The schema of a run's config: one dataclass per section, exactly the keys of conf/.

config.py checks a composed config (and each command-line override) against it. As Hydra
structured configs (tried for issue 34, docs/design.md section 3) these dataclasses refuse a
wrong type at composition, in 5 or 6 lines, but let an added key (`+optim.lrr=0.1`) and any
value of the right type (`optim.lr=-1`, `optim.schedule=linear`) through, and cannot type a
section whose keys depend on a value (activation, data). A new key in conf/ needs its field
here; tests/test_configs.py composes every config file against it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional


def variants(key: str, options: dict) -> dataclasses.Field:
    """A section whose keys depend on one of its values, e.g. the activation's name."""
    return field(metadata={"variants": (key, options)})


@dataclass
class TorchvisionData:  # also the ImageFolder copy (data.source=folder)
    source: str
    root: str
    download: bool
    cache_dir: str
    train_size: Optional[int]
    eval_size: Optional[int]
    subset_seed: int
    val_size: Optional[int] = None  # held-out training images for choosing settings (the tuned study)
    synthetic_train: Optional[int] = None  # profile=smoke sets them whatever the data; only synthetic reads them
    synthetic_test: Optional[int] = None


@dataclass
class SyntheticData:
    source: str
    synthetic_train: int
    synthetic_test: int
    cache_dir: str
    train_size: Optional[int]
    eval_size: Optional[int]
    subset_seed: int
    val_size: Optional[int] = None


@dataclass
class Init:
    scheme: str
    weight_scale: float
    bias: float


@dataclass
class Model:
    name: str
    depth: int
    width: int
    batchnorm: bool
    init: Init


@dataclass
class ReLU:
    name: str


@dataclass
class LeakyReLU:
    name: str
    negative_slope: float


@dataclass
class PReLU:
    name: str
    mode: str
    init: float
    weight_decay: float


@dataclass
class Optim:
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    batch_size: int
    epochs: int
    warmup_epochs: int
    schedule: str


@dataclass
class Long:
    train_size: Optional[int]
    epochs: int


@dataclass
class Trained:
    epochs: int


@dataclass
class Tuned:
    train_size: Optional[int]
    val_size: int
    selection_seeds: int   # seeds 0.. of each rate of the grid
    comparison_seeds: int  # fresh seeds, from 10 on, of each activation at its chosen rate


@dataclass
class Profile:
    name: str
    train_size: Optional[int]
    eval_size: Optional[int]
    epochs: int
    width: int
    probe_size: int
    seeds: int
    long: Long
    trained: Trained
    tuned: Tuned


@dataclass
class Monitor:
    enabled: bool
    probe_size: int
    every: int
    tau: float
    chunk: int


@dataclass
class Runtime:
    device: str
    threads: Optional[int]
    compile: bool
    progress: bool
    record_dir: Optional[str]
    keep_weights: bool = False  # a default: the configs of records made before it pass the check


@dataclass
class Study:
    name: str
    knob: str


@dataclass
class Logger:  # conf/logger/: what hydra.utils.instantiate builds, given log_dir
    _target_: str
    flush_secs: int


@dataclass
class Train:
    seed: int
    runs_dir: str
    data: dict = variants("source", {"torchvision": TorchvisionData, "folder": TorchvisionData,
                                     "synthetic": SyntheticData})
    model: Model
    activation: dict = variants("name", {"relu": ReLU, "leaky_relu": LeakyReLU, "prelu": PReLU})
    optim: Optim
    profile: Profile
    monitor: Monitor
    runtime: Runtime
    study: Optional[Study] = None  # only with +study=NAME
    logger: Optional[Logger] = None  # only with logger=tensorboard
