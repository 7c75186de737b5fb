"""The dead-unit check for any PyTorch model, with the study's definitions (monitor.py).

    python -m rectifiers.diagnose --model torchvision.models:resnet18 --input-shape 3,32,32
    python -m rectifiers.diagnose --model mymodels:build --checkpoint weights.pt --data folder:DIR
    python -m rectifiers.diagnose --run runs/cpu/<run-id>

Every rectifier module (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ReLU6, nn.RReLU; nn.ELU and nn.GELU
as "other") is measured per call site on a fixed probe in eval mode: a module that the forward
pass calls twice (torchvision's BasicBlock calls one `relu` twice) gives two rows, `name#0` and
`name#1`. Activations called as functions (F.relu, torch.relu) have no module to hook and are
not seen. A unit is a channel (dim 1 of the activation's input) or a feature of a linear layer.
The table ends with advice drawn from the study's own results (`study_findings`).
"""
from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .monitor import LayerStats

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results" / "cpu"  # the committed study the advice is drawn from

# Order matters only for subclasses; none of these subclasses another.
RECTIFIERS = ((nn.ReLU, "relu"), (nn.LeakyReLU, "leaky_relu"), (nn.PReLU, "prelu"), (nn.ReLU6, "relu6"),
              (nn.RReLU, "rrelu"), (nn.ELU, "other"), (nn.GELU, "other"))
STUCK = ("relu", "relu6")  # kinds with zero gradient below zero: their dead units cannot recover
RECTIFIER_NAMES = ", ".join(f"nn.{cls.__name__}" for cls, _ in RECTIFIERS)


def kind_of(module: nn.Module) -> str | None:
    return next((kind for cls, kind in RECTIFIERS if isinstance(module, cls)), None)


class NoRectifierError(ValueError):
    """The model has no rectifier module, or the forward pass called none."""


# --- measuring --------------------------------------------------------------------------

class _CallSites:
    """The call sites of one rectifier module: its i-th call in a forward pass feeds stats[i].
    The input is read by a pre-hook, before an in-place activation overwrites it."""

    def __init__(self, name: str, kind: str, order: list):
        self.name, self.kind, self.order = name, kind, order
        self.stats: list[LayerStats] = []
        self.calls = 0  # calls so far in the current forward pass

    def before(self, module, inputs):
        if self.calls == len(self.stats):  # a call site seen for the first time
            self.stats.append(LayerStats())
            self.order.append((self, self.calls))
        self.stats[self.calls].add_pre(inputs[0])

    def after(self, module, inputs, output):
        self.stats[self.calls].add_post(output)
        self.calls += 1


@torch.no_grad()
def measure(model: nn.Module, images: torch.Tensor, tau: float = 0.1, chunk: int = 256) -> list[dict]:
    """Per rectifier call site, in forward order: name, kind, units, dead (count), dead_ratio,
    dormant_ratio (tau-dormant) and sparsity over the probe `images` (already normalised, on
    the model's device), passed in chunks in eval mode. The model's mode is restored and its
    hooks removed afterwards, also when the forward pass fails."""
    order: list[tuple[_CallSites, int]] = []
    sites = [(m, _CallSites(name or "(model)", kind_of(m), order)) for name, m in model.named_modules()
             if kind_of(m)]
    if not sites:
        raise NoRectifierError(f"the model has no rectifier module ({RECTIFIER_NAMES})")
    hooks = [h for m, s in sites for h in (m.register_forward_pre_hook(s.before), m.register_forward_hook(s.after))]
    was_training = model.training
    model.eval()
    try:
        for x in images.split(chunk):
            for _, s in sites:
                s.calls = 0
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if not order:
        raise NoRectifierError(f"none of the model's {len(sites)} rectifier modules was called in the forward pass")
    rows = []
    for s, i in order:
        r = s.stats[i].metrics(tau)
        rows.append({"name": s.name if len(s.stats) == 1 else f"{s.name}#{i}", "kind": s.kind,
                     "units": r["units"], "dead": int(r["dead_mask"].sum()), "dead_ratio": r["dead_ratio"],
                     "dormant_ratio": r["dormant_ratio"], "sparsity": r["sparsity"]})
    return rows


def network_dead_ratio(rows: list[dict]) -> float:
    """Dead units over all units of all call sites (a unit called twice counts twice)."""
    return sum(r["dead"] for r in rows) / sum(r["units"] for r in rows)


# --- advice from the study's results ------------------------------------------------------

def study_findings(results_dir: Path = RESULTS) -> dict:
    """The study's numbers behind the advice, from results/<profile>/ (runs.csv, study.json):
    descriptive figures only, in fractions. Cell means are over finished runs (results.summarise)
    and diverged runs are counted. A cell is lethal, as in the paper, when ReLU's mean peak dead
    ratio reaches claim 1's dead threshold (conf/claims.yaml). Raises FileNotFoundError or
    ValueError (from results.load) when the results are missing or empty."""
    import numpy as np  # pandas and the claim rules only when advice is asked for

    from . import claims
    from . import results as R
    res = R.load(Path(results_dir))
    runs, study = res.runs, res.study
    df, regs = R.regime_frame(runs, study), R.regimes(study)
    relu, threshold = R.BASELINE_ACT, claims.RULES.dead_threshold
    acc, peak, init = (R.summarise(df, v, ["regime", "act"]).set_index(["regime", "act"])
                       for v in ("final_test_acc", "dead_ratio_peak", "dead_ratio_init"))

    def of(frame, key, act=relu):  # a cell's mean, NaN where the cell has no finished run
        return float(frame.loc[(key, act), "mean"]) if (key, act) in frame.index else np.nan

    plain = [r for r in regs if r["kind"] != "reference" and not np.isnan(of(peak, r["key"]))]
    if not plain:
        raise ValueError(f"{results_dir} has no finished ReLU run of the plain network yet")
    lethal = [r for r in plain if of(peak, r["key"]) >= threshold]
    deadliest = max(plain, key=lambda r: of(peak, r["key"]))
    spared = [a for a in (of(acc, r["key"]) for r in plain if r not in lethal) if not np.isnan(a)]
    reference = next((r for r in regs if r["kind"] == "reference"), None)

    def lethal_cell(r):
        others = acc.loc[r["key"]].drop(relu, errors="ignore")
        finished = others["mean"].dropna()
        best = finished.idxmax() if len(finished) else None
        return {"label": r["label"], "relu_peak_dead": of(peak, r["key"]), "relu_acc": of(acc, r["key"]),
                "best_act": R.act_name(best) if best else None, "best_acc": float(finished.max()) if best else np.nan,
                "other_runs": int(others["n_runs"].sum()), "other_diverged": int(others["n_diverged"].sum())}

    def revival(acts):  # revived over ever-dead units, pooled over finished runs
        ok = runs[(runs.status == "ok") & runs.act.isin(acts)]
        return float(ok.revived.sum() / ok.ever_dead.sum()) if ok.ever_dead.sum() > 0 else np.nan

    def reference_cell(r):
        means = acc.loc[r["key"]]["mean"].dropna()
        diffs = (means.drop(relu) - means[relu]).abs() if relu in means else means.iloc[:0]
        return {"label": r["label"], "relu_peak_dead": of(peak, r["key"]),
                "max_abs_acc_diff": float(diffs.max()) if len(diffs) else np.nan}

    return {
        "results": str(results_dir), "dead_threshold": threshold, "plain_cells": len(plain),
        "lethal": [lethal_cell(r) for r in lethal],
        "relu_acc_not_lethal": float(np.mean(spared)) if spared else np.nan,
        "deadliest": {"label": deadliest["label"], "relu_init_dead": of(init, deadliest["key"]),
                      "relu_peak_dead": of(peak, deadliest["key"])},
        "revival_relu": revival([relu]), "revival_leaky": revival([a for a in runs.act.unique() if R.is_leaky(a)]),
        "reference": reference_cell(reference) if reference else None,
    }


def pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"


def pct_g(x: float) -> str:
    """A round threshold: 0.3 -> '30'."""
    return f"{100 * x:g}"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def advice(dead_ratio: float, rows: list[dict], findings: dict | None, missing: str = "") -> str:
    """A few sentences for a measured model, every number taken from `findings`
    (study_findings); `missing` says why there are no findings."""
    here = f"{pct(dead_ratio)}% of the units are dead on this probe"
    if findings is None:
        return f"{here}. No comparison with the study: {missing}"
    f = findings
    thr, worst, cells = f["dead_threshold"], f["deadliest"], f["lethal"]
    killed = (f"training kills units: at {worst['label']} ReLU started with {pct(worst['relu_init_dead'])}% dead "
              f"and peaked at {pct(worst['relu_peak_dead'])}%")
    if dead_ratio == 0:
        ref = f["reference"]
        text = "No unit is dead on this probe. "
        if ref:
            text += (f"In the study's {ref['label']} ReLU peaked at {pct(ref['relu_peak_dead'])}% dead units and "
                     f"the other activations' mean accuracy differed from ReLU's by at most "
                     f"{pct(ref['max_abs_acc_diff'])} points: dead units give no reason to switch. ")
        return text + f"But {killed}, so measure the trained model too."
    stuck = sum(r["dead"] for r in rows if r["kind"] in STUCK)
    leaky_note = "" if stuck else (
        f" They sit in rectifiers that pass gradient below zero, so they can come back: in the study, Leaky ReLU "
        f"revived {pct(f['revival_leaky'])}% of its ever-dead units, ReLU {pct(f['revival_relu'])}%.")
    if dead_ratio < thr:
        text = f"{here}, below the {pct_g(thr)}% at which the study calls a setting lethal. But {killed}"
        if cells:
            text += (f", and where {pct_g(thr)}% or more died ReLU averaged "
                     f"{pct(sum(c['relu_acc'] for c in cells) / len(cells))}% test accuracy, against "
                     f"{pct(f['relu_acc_not_lethal'])}% in its other plain-network cells")
        return (text + "." + leaky_note + f" Measure again during training; if the dead share climbs towards "
                f"{pct_g(thr)}%, switch to Leaky ReLU or PReLU.")
    text = f"{here}: at least the {pct_g(thr)}% at which the study calls a setting lethal."
    diverged = 0
    if cells:
        best = [f"{pct(c['best_acc'])}% ({c['best_act']})" for c in cells]
        text += (f" In its {len(cells)} lethal cells ({_listing([c['label'] for c in cells])}), ReLU ended at "
                 f"{_listing([pct(c['relu_acc']) + '%' for c in cells])} test accuracy, and the best other "
                 f"activation that finished reached {_listing(best)}.")
        diverged, runs = sum(c["other_diverged"] for c in cells), sum(c["other_runs"] for c in cells)
        if diverged:
            text += f" {diverged} of those {runs} Leaky ReLU and PReLU runs diverged."
    if not stuck:
        return text + leaky_note + " Look at what killed them: the learning rate, the batch size, the initialisation."
    return text + " Switch to Leaky ReLU or PReLU" + ("; if training then diverges, lower the learning rate."
                                                    if diverged else ".")


def findings_or_reason(results_dir: Path) -> tuple[dict | None, str]:
    try:
        return study_findings(results_dir), ""
    except (FileNotFoundError, ValueError) as e:
        return None, f"{e}."


# --- the command line: what to measure ------------------------------------------------------

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
    """--data synthetic | folder:ROOT | cifar10:ROOT -> the data config of rectifiers.data; the
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
    """The study's probe: a fixed sample of training images, standardised (data.load)."""
    from omegaconf import OmegaConf

    from . import data
    try:
        ds = data.load(OmegaConf.create(dict(data_cfg)), probe, torch.device("cpu"))
    except data.DataError as e:
        raise UsageError(f"the probe data: {str(e).splitlines()[0]}") from None
    return data.normalise(ds.train.x[ds.probe_idx], ds.mean, ds.std), ds.description


def load_run(run: Path, args) -> tuple[nn.Module, str, dict, dict]:
    """One of this project's runs: its model (from config.yaml) with the run's checkpoint,
    --checkpoint, or else the run's own initialisation (a finished run deletes its
    checkpoint); its data and monitor configs."""
    from omegaconf import OmegaConf

    from . import models
    config = run / "config.yaml"
    if not config.is_file():
        raise UsageError(f"--run {run} has no config.yaml; fix: give a run folder, runs/<profile>/<run-id>")
    cfg = OmegaConf.load(config)
    torch.manual_seed(cfg.seed)  # as train.py does just before building: the run's initial weights
    model = models.build_model(cfg.model, cfg.activation).to(memory_format=torch.channels_last)
    ckpt = args.checkpoint or (run / "checkpoint.pt" if (run / "checkpoint.pt").is_file() else None)
    if ckpt:
        load_weights(model, Path(ckpt), f"run {run.name}")
        weights = f"weights from {ckpt}"
    else:
        weights = (f"the run's initial weights (seed {cfg.seed}; no checkpoint.pt: a finished run deletes it, "
                   "pass --checkpoint for trained weights)")
    return model, weights, *(OmegaConf.to_container(c, resolve=True) for c in (cfg.data, cfg.monitor))


# --- output -------------------------------------------------------------------------------

def table(rows: list[dict]) -> str:
    width = max(len("call site"), *(len(r["name"]) for r in rows))
    head = (f"{'#':>4}  {'call site':<{width}}  {'kind':<10} {'units':>7} {'dead %':>7} {'dormant %':>9} "
            f"{'sparsity %':>10}")
    lines = [head, "-" * len(head)]
    for i, r in enumerate(rows):
        lines.append(f"{i:>4}  {r['name']:<{width}}  {r['kind']:<10} {r['units']:>7} {pct(r['dead_ratio']):>7} "
                     f"{pct(r['dormant_ratio']):>9} {pct(r['sparsity']):>10}")
    dead, units = sum(r["dead"] for r in rows), sum(r["units"] for r in rows)
    lines += ["-" * len(head), f"network: {pct(dead / units)}% dead ({dead} of {units} units, {len(rows)} call sites)"]
    return "\n".join(lines)


@dataclass
class Diagnosis:
    model: str            # the --model spec or the run id
    weights: str          # where the weights came from
    probe: int            # probe images
    data: str             # the probe's data, in words
    shape: tuple          # (C, H, W) of the probe images
    tau: float
    rows: list[dict]      # measure()
    advice: str
    threshold: float | None  # the study's lethal dead ratio, when its results were found

    def record(self) -> dict:
        """What --json writes."""
        keys = ("name", "kind", "units", "dead_ratio", "dormant_ratio", "sparsity")
        return {"model": self.model, "weights": self.weights, "probe": self.probe,
                "layers": [{k: r[k] for k in keys} for r in self.rows],
                "dead_ratio": network_dead_ratio(self.rows), "advice": self.advice}

    def text(self) -> str:
        """What the terminal shows."""
        return "\n".join([f"{self.model}: {self.weights}",
                          f"probe: {self.probe} images, {self.data}; shape {'x'.join(map(str, self.shape))}, "
                          f"eval mode; tau-dormant at tau = {self.tau:g}",
                          table(self.rows), "", textwrap.fill(self.advice, 100)])


KIND_COLOURS = {"relu": "relu", "relu6": "relu", "leaky_relu": "leaky_relu_0.1", "rrelu": "leaky_relu_0.1",
                "prelu": "prelu"}  # kind -> the study's activation whose colour it takes; "other" is grey


def figure(rows: list[dict], title: str, path: Path, threshold: float | None) -> None:
    """Dead (solid) and tau-dormant (light) share of units per call site, in forward order,
    coloured by kind in the paper's style, with the study's lethal level."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    from . import style  # matplotlib and seaborn only when a figure is asked for

    def colour(kind):
        return style.ACT_COLORS.get(KIND_COLOURS.get(kind, ""), "0.6")

    style.setup()
    n = len(rows)
    fig, ax = plt.subplots(figsize=(min(7.0, max(3.4, 0.16 * n + 1.2)), 2.6), layout="constrained")
    x = range(n)
    colours = [colour(r["kind"]) for r in rows]
    ax.bar([i - 0.2 for i in x], [r["dead_ratio"] for r in rows], width=0.4, color=colours)
    ax.bar([i + 0.2 for i in x], [r["dormant_ratio"] for r in rows], width=0.4, color=colours, alpha=0.35)
    if threshold is not None:
        ax.axhline(threshold, color="0.4", lw=0.6, ls="--")
        ax.text(-0.5, threshold, "lethal in the study", ha="left", va="bottom", fontsize=6, color="0.4")
    step = max(1, n // 40)  # at most about 40 readable labels
    ax.set_xticks(list(x)[::step], [r["name"] for r in rows][::step], rotation=90, fontsize=6)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("share of units")
    ax.set_title(title)
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    handles = [Patch(color="0.3", label="dead"), Patch(color="0.3", alpha=0.35, label="τ-dormant")]
    handles += [Patch(color=colour(k), label=k) for k in kinds]
    ax.legend(handles=handles, loc="upper left", ncol=len(handles), handlelength=1.0, columnspacing=0.8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None} if path.suffix.lower() == ".png" else None)
    plt.close(fig)


# --- the command line ---------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other bad input
        self.exit(2, f"diagnose: error: {message}; see --help\n")


def parse_args(argv=None) -> argparse.Namespace:
    ap = _Parser(prog="python -m rectifiers.diagnose",
                 description="Dead, tau-dormant and inactive units of every rectifier call site of a PyTorch model.")
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", metavar="PKG.MODULE:FACTORY",
                      help="a function or class that builds the model with no arguments, "
                           "e.g. torchvision.models:resnet18")
    what.add_argument("--run", type=Path, metavar="DIR", help="one of this project's runs: runs/<profile>/<run-id>")
    ap.add_argument("--checkpoint", type=Path, metavar="FILE",
                    help="a state dict (loaded with weights_only=True) or a checkpoint.pt of this project")
    ap.add_argument("--data", metavar="SOURCE",
                    help="synthetic (default; no files), folder:ROOT (CIFAR-10 ImageFolder tree) or cifar10:ROOT "
                         "(torchvision's CIFAR-10 batches); with --run, the run's own data by default")
    ap.add_argument("--input-shape", metavar="C,H,W", help="resize the 3x32x32 probe images to this shape")
    ap.add_argument("--probe", type=int, metavar="N", help="probe images (default 512; with --run the run's)")
    ap.add_argument("--seed", type=int, default=0, help="torch seed before --model builds the model (default 0)")
    ap.add_argument("--tau", type=float, help="tau-dormant threshold (default 0.1; with --run the run's)")
    ap.add_argument("--json", type=Path, metavar="OUT", help="write the measurements and the advice as JSON")
    ap.add_argument("--figure", type=Path, metavar="OUT.png", help="write a per-call-site bar chart")
    ap.add_argument("--results", type=Path, default=RESULTS, help="the study's results the advice cites")
    args = ap.parse_args(argv)
    if args.probe is not None and args.probe < 1:
        ap.error(f"--probe {args.probe} must be a positive number of images")
    return args


def diagnose(args) -> Diagnosis:
    """Measure what the arguments name (UsageError on bad input)."""
    if args.run:
        model, weights, data_cfg, monitor = load_run(args.run, args)
        name, tau, chunk = args.run.name, monitor["tau"], monitor["chunk"]  # as the run's monitor measured
        probe = args.probe or monitor["probe_size"]
        if args.data:
            data_cfg = data_config(args.data, probe)
    else:
        name, model = args.model, build_model(args.model, args.seed)
        weights = f"random initial weights, seed {args.seed} (no --checkpoint)"
        if args.checkpoint:
            load_weights(model, args.checkpoint, args.model)
            weights = f"weights from {args.checkpoint}"
        tau, chunk, probe = 0.1, 256, args.probe or 512  # the study's settings
        data_cfg = data_config(args.data or "synthetic", probe)
    tau = args.tau if args.tau is not None else tau
    if not any(kind_of(m) for m in model.modules()):
        raise UsageError(f"{name} has no rectifier module ({RECTIFIER_NAMES}); fix: build it with such modules "
                         "(activations called as functions, F.relu or torch.relu, cannot be hooked)")
    x, description = load_probe(data_cfg, probe)
    shape = parse_shape(args.input_shape) if args.input_shape else tuple(x.shape[1:])
    x = fit_to_shape(x, shape)
    try:
        rows = measure(model, x, tau=tau, chunk=chunk)
    except NoRectifierError as e:
        raise UsageError(f"{name}: {e}; fix: call them as modules (activations called as functions, F.relu or "
                         "torch.relu, cannot be hooked)") from None
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        raise UsageError(f"{name} rejects probe images of shape {'x'.join(map(str, shape))} ({first_line(e)}); "
                         "fix: give the shape it expects, e.g. --input-shape 3,224,224") from None
    findings, missing = findings_or_reason(args.results)
    return Diagnosis(name, weights, probe, description, shape, tau, rows,
                     advice(network_dead_ratio(rows), rows, findings, missing),
                     findings["dead_threshold"] if findings else None)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        d = diagnose(args)
    except UsageError as e:
        print(f"diagnose: error: {e}", file=sys.stderr)
        return 2
    print(d.text())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(d.record(), indent=1) + "\n")
    if args.figure:
        figure(d.rows, d.model, args.figure, d.threshold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
