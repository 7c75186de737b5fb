"""What `python -m rectifiers.diagnose` measures: the model (any importable factory, or one of
this project's runs), its weights (a state dict or a run checkpoint) and the probe images
(synthetic, an ImageFolder tree or torchvision's CIFAR-10 batches), fitted to the model's
input shape. Bad input raises UsageError with the problem and the fix in one line.
"""
from __future__ import annotations

import importlib
import re
from functools import reduce
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class UsageError(Exception):
    """Bad input: the message names the problem and the fix, in one line."""


def first_line(e: BaseException) -> str:
    """'Type: first sentence' of an exception, without terminal colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
    text = text.splitlines()[0].split(". ")[0] if text else ""
    return f"{type(e).__name__}: {text}".rstrip(": ")


def build_model(spec: str, seed: int = 0) -> nn.Module:
    """'PKG.MODULE:FACTORY' -> the nn.Module that FACTORY() returns, its random weights drawn
    after torch.manual_seed(seed) so that a diagnosis of random weights repeats exactly."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--model {spec!r} is not PKG.MODULE:FACTORY; e.g. torchvision.models:resnet18")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # ImportError, or whatever the module raises while importing
        raise UsageError(f"cannot import {module_name!r} for --model {spec} ({first_line(e)}); fix: install it, or "
                         "run from the folder that holds your module (or add it to PYTHONPATH)") from None
    try:
        factory = reduce(getattr, attr.split("."), module)
    except AttributeError:
        raise UsageError(f"module {module_name!r} has no {attr!r}; fix: name a function or class in it "
                         "that builds the model") from None
    torch.manual_seed(seed)
    try:
        model = factory()
    except Exception as e:
        raise UsageError(f"{spec}() failed ({first_line(e)}); fix: --model must name a factory that builds "
                         "the model with no arguments (wrap yours in a small function)") from None
    if not isinstance(model, nn.Module):
        raise UsageError(f"{spec}() returned a {type(model).__name__}, not a torch.nn.Module; fix: name the "
                         "factory that builds the model")
    return model


def _strip_prefix(state: dict) -> dict:
    """Keys saved from nn.DataParallel ('module.') or torch.compile ('_orig_mod.')."""
    for prefix in ("module.", "_orig_mod."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def state_dict_of(path: Path) -> dict:
    """A plain state dict, or the model weights of this project's run checkpoint ("model") or
    of the common {"state_dict": ...} layout; loaded with weights_only=True."""
    if not path.is_file():
        raise UsageError(f"checkpoint {path} does not exist; fix: give the path of a file saved with "
                         "torch.save(model.state_dict(), PATH)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UsageError(f"checkpoint {path} cannot be loaded as weights ({first_line(e)}); fix: save "
                         "model.state_dict() with torch.save and pass that file") from None
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UsageError(f"checkpoint {path} holds no state dict (a dict of tensors); fix: save "
                         "model.state_dict() with torch.save and pass that file")
    return _strip_prefix(obj)


def load_weights(model: nn.Module, path: Path, model_name: str) -> None:
    state, own = state_dict_of(path), model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    wrong = [f"{k}: {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model"
             for k in own if k in state and state[k].shape != own[k].shape]
    problems = [f"{len(v)} {what} (e.g. {v[0]})" for v, what in
                ((missing, "weights missing from the file"), (extra, "unexpected weights"), (wrong, "shape mismatches"))
                if v]
    if problems:
        raise UsageError(f"checkpoint {path} does not fit {model_name}: {'; '.join(problems)}; fix: pass the "
                         "--model factory (and its settings) that the checkpoint was saved from")
    model.load_state_dict(state)


def parse_shape(text: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise UsageError(f"--input-shape {text!r} is not C,H,W with positive integers; e.g. 3,32,32 or 3,224,224")
    return shape


def fit_to_shape(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """CIFAR-shaped probe images (N, 3, 32, 32) -> (N, C, H, W): bilinear resize; one channel
    is the mean of the three, more than three repeat them in turn."""
    c, h, w = shape
    if (h, w) != tuple(x.shape[2:]):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    if c == 1:
        x = x.mean(dim=1, keepdim=True)
    elif c != x.shape[1]:
        x = x[:, [i % x.shape[1] for i in range(c)]]
    return x.contiguous(memory_format=torch.channels_last)


def data_config(spec: str, probe: int) -> dict:
    """--data synthetic | folder:ROOT | cifar10:ROOT -> the data config of rectifiers.experiment.data; the
    whole training split is the pool the fixed probe is drawn from."""
    source, _, root = spec.partition(":")
    common = {"cache_dir": ".cache/data", "train_size": None, "eval_size": None, "subset_seed": 0}
    if source == "synthetic" and not root:
        return {"source": "synthetic", "synthetic_train": max(2000, probe), "synthetic_test": 10, **common}
    if source == "folder" and root:
        if not Path(root).expanduser().is_dir():
            raise UsageError(f"--data {spec}: {root} is not a folder; fix: give a CIFAR-10 ImageFolder tree with "
                             "train/ and test/ (or --data synthetic)")
        return {"source": "folder", "root": root, **common}
    if source == "cifar10" and root:
        if not (Path(root).expanduser() / "cifar-10-batches-py").is_dir():
            raise UsageError(f"--data {spec}: {root} holds no cifar-10-batches-py/; fix: give the folder that "
                             "torchvision downloaded CIFAR-10 into (or --data synthetic)")
        return {"source": "torchvision", "root": root, "download": False, **common}
    raise UsageError(f"--data {spec!r} is not synthetic, folder:ROOT or cifar10:ROOT; e.g. --data synthetic")


def load_probe(data_cfg, probe: int) -> tuple[torch.Tensor, str]:
    """The study's probe: a fixed sample of training images, standardised (tensors.load)."""
    from omegaconf import OmegaConf

    from ..experiment import data
    from ..training import tensors
    try:
        ds = tensors.load(OmegaConf.create(dict(data_cfg)), probe, torch.device("cpu"))
    except data.DataError as e:
        raise UsageError(f"the probe data: {str(e).splitlines()[0]}") from None
    return tensors.normalise(ds.train.x[ds.probe_idx], ds.mean, ds.std), ds.description


def load_run(run: Path, args) -> tuple[nn.Module, str, dict, dict]:
    """One of this project's runs: its model (from config.yaml) with --checkpoint, the final
    weights the run kept (weights.pt, runtime.keep_weights), the checkpoint of a run in
    progress, or else the run's own initialisation (a finished run deletes its checkpoint);
    its data and monitor configs."""
    from omegaconf import OmegaConf

    from ..experiment.records import WEIGHTS
    from ..training import models
    config = run / "config.yaml"
    if not config.is_file():
        raise UsageError(f"--run {run} has no config.yaml; fix: give a run folder, runs/<profile>/<run-id>")
    cfg = OmegaConf.load(config)
    torch.manual_seed(cfg.seed)  # as train.py does just before building: the run's initial weights
    model = models.build_model(cfg.model, cfg.activation).to(memory_format=torch.channels_last)
    final, ckpt = run / WEIGHTS, run / "checkpoint.pt"
    if args.checkpoint:
        path, weights = args.checkpoint, f"weights from {args.checkpoint}"
    elif final.is_file():
        path, weights = final, f"the run's final weights ({final})"
    elif ckpt.is_file():
        path, weights = ckpt, f"weights from {ckpt} (the last epoch of a run in progress or failed)"
    else:
        path, weights = None, (f"the run's initial weights (seed {cfg.seed}; it kept no {WEIGHTS}: train it with "
                               "runtime.keep_weights=true, or pass --checkpoint, for trained weights)")
    if path:
        load_weights(model, Path(path), f"run {run.name}")
    return model, weights, *(OmegaConf.to_container(c, resolve=True) for c in (cfg.data, cfg.monitor))

