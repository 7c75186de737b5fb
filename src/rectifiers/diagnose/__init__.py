"""The dead-unit check for any PyTorch model, with the study's definitions (docs/design.md
section 5): the command line.

    python -m rectifiers.diagnose --model torchvision.models:resnet18 --input-shape 3,32,32
    python -m rectifiers.diagnose --model mymodels:build --checkpoint weights.pt --data folder:DIR
    python -m rectifiers.diagnose --run runs/cpu/<run-id> --fail-above 0.3

Three modules do the work: inputs (the model, its weights and the probe images), measure
(every rectifier module hooked and measured per call site, in eval mode, BatchNorm layers
never updated given the probe's statistics in a copy) and report (the table, the CSV, the
figure and the advice drawn from the study's own results). From Python,
`rectifiers.diagnose.measure(model, images)` is the function, which shadows its module here
(importlib.import_module("rectifiers.diagnose.measure") reaches the module).
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .inputs import (
    UsageError,
    build_model,
    data_config,
    first_line,
    fit_to_shape,
    load_probe,
    load_run,
    load_weights,
    parse_shape,
)
from .measure import RECTIFIER_NAMES, NoRectifierError, batchnorms, kind_of, measure, network_dead_ratio, never_updated
from .report import RESULTS, advice, figure, findings_or_reason, table, write_csv

DEAD = "pre-activation <= 0 for every probe image and position"  # the study's definition (design section 5)


@dataclass
class Diagnosis:
    model: str            # the --model spec or the run id
    weights: str          # where the weights came from
    probe: dict           # the probe: source, data (in words), count, input_shape, seed, dead, tau, batchnorm
    rows: list[dict]      # measure()
    advice: str
    threshold: float | None  # the study's lethal dead ratio, when its results were found
    recomputed: int = 0   # BatchNorm layers never updated, measured with the probe's statistics

    def record(self) -> dict:
        """What --json writes."""
        keys = ("name", "kind", "units", "dead", "dead_ratio", "dormant_ratio", "sparsity")
        return {"model": self.model, "weights": self.weights, "probe": self.probe,
                "layers": [{k: r[k] for k in keys} for r in self.rows],
                "dead_ratio": network_dead_ratio(self.rows), "advice": self.advice}

    def text(self) -> str:
        """What the terminal shows: the advice wrapped line by line, its list items indented."""
        p = self.probe
        advice = [textwrap.fill(line, 100, subsequent_indent="  " if line.startswith("- ") else "")
                  for line in self.advice.splitlines()]
        return "\n".join([f"{self.model}: {self.weights}",
                          f"probe: {p['count']} images, {p['data']} (seed {p['seed']}); shape "
                          f"{'x'.join(map(str, p['input_shape']))}",
                          f"eval mode; BatchNorm: {p['batchnorm']}; tau-dormant at tau = {p['tau']:g}",
                          table(self.rows), "", *advice])

    def above(self, fraction: float) -> list[str]:
        """What --fail-above FRACTION fails on: the network and the call sites whose dead ratio exceeds it."""
        network = network_dead_ratio(self.rows)
        sites = [f"{r['name']} ({100 * r['dead_ratio']:.1f}%)" for r in self.rows if r["dead_ratio"] > fraction]
        return ([f"the network ({100 * network:.1f}%)"] if network > fraction else []) + sites


# --- the command line ---------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other bad input
        self.exit(2, f"diagnose: error: {message}; see --help\n")


def fraction(text: str) -> float:
    """--fail-above's value: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:  # NaN too
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction of units between 0 and 1, e.g. 0.3")
    return value


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
    ap.add_argument("--csv", type=Path, metavar="OUT", help="write one row per call site as CSV")
    ap.add_argument("--figure", type=Path, metavar="OUT.png", help="write a per-call-site bar chart")
    ap.add_argument("--results", type=Path, default=RESULTS, help="the study's results the advice cites")
    ap.add_argument("--fail-above", type=fraction, metavar="FRACTION",
                    help="exit 1 when the network's or any call site's dead ratio exceeds FRACTION (0 to 1), for CI")
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
        rows = measure(model, x, tau=tau, chunk=chunk)  # a copy with the probe's statistics where never updated
    except NoRectifierError as e:
        raise UsageError(f"{name}: {e}; fix: call them as modules (activations called as functions, F.relu or "
                         "torch.relu, cannot be hooked)") from None
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        raise UsageError(f"{name} rejects probe images of shape {'x'.join(map(str, shape))} ({first_line(e)}); "
                         "fix: give the shape it expects, e.g. --input-shape 3,224,224") from None
    findings, missing = findings_or_reason(args.results)
    return Diagnosis(name, weights, probe_record(data_cfg, description, probe, shape, tau, model),
                     rows, advice(network_dead_ratio(rows), rows, findings, missing),
                     findings["dead_threshold"] if findings else None, len(never_updated(model)))


def probe_record(data_cfg: dict, description: str, count: int, shape: tuple, tau: float, model) -> dict:
    """The probe in full, for the report and the JSON: where its images come from, how many,
    their shape, the seed that draws them, the definitions and how BatchNorm was measured."""
    fresh, bn = never_updated(model), batchnorms(model)
    return {"source": data_cfg["source"] + (f":{data_cfg['root']}" if data_cfg.get("root") else ""),
            "data": description, "count": count, "input_shape": list(shape),
            "seed": data_cfg["subset_seed"],  # the study's probe: a sample drawn by the subset seed
            "dead": DEAD, "tau": tau,
            "batchnorm": (f"{len(fresh)} of {len(bn)} layers never updated: statistics recomputed on the probe"
                          if fresh else "running statistics as loaded" if bn else "none")}


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        d = diagnose(args)
    except UsageError as e:
        print(f"diagnose: error: {e}", file=sys.stderr)
        return 2
    if d.recomputed:  # said, since the numbers differ from a plain eval-mode pass
        print(f"diagnose: warning: {d.recomputed} BatchNorm layers of {d.model} were never updated (their running "
              "statistics would be mean 0 and variance 1 in eval mode): measured with the probe's statistics, in "
              "a copy of the model", file=sys.stderr)
    print(d.text())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(d.record(), indent=1) + "\n")
    if args.csv:
        write_csv(d.rows, args.csv)
    if args.figure:
        figure(d.rows, d.model, args.figure, d.threshold)
    failed = d.above(args.fail_above) if args.fail_above is not None else []
    if failed:  # for CI: the outputs are written, then the exit status says it failed
        print(f"diagnose: dead ratio above --fail-above {args.fail_above:g}: {', '.join(failed[:5])}"
              + (f" and {len(failed) - 5} more" if len(failed) > 5 else ""), file=sys.stderr)
        return 1
    return 0
