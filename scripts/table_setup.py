"""Setup table: every hyperparameter of each profile (smoke, cpu, full) and the swept
levels of every study, read from conf/ through Hydra's compose API; the profile the
results come from is marked, and its data source is the one its runs used (study.json).

    python scripts/table_setup.py --results results/cpu --out paper/generated/table_setup.tex
"""
from __future__ import annotations

import sys
from functools import lru_cache

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rectifiers import activations, knobs
from rectifiers.analysis import results
from rectifiers.experiment import data
from rectifiers.experiment.study import sweep_values
from rectifiers.files import CONF
from rectifiers.render import cli, latex
from rectifiers.studies import STUDIES

SCALE = ("smoke", "cpu", "full")  # column order: smallest first; any other profile after them
PROFILES = sorted((p.stem for p in (CONF / "profile").glob("*.yaml")),
                  key=lambda p: (SCALE.index(p) if p in SCALE else len(SCALE), p))
# (section, label, (overrides, key)): the value of `key` in the config composed with `overrides`.
PLAIN, RESNET, LEAKY, PRELU = [], ["model=resnet"], ["activation=leaky_relu"], ["activation=prelu"]
ROWS = [
    ("Data", "Source", (PLAIN, "data.source")),
    ("Data", "Training images", (PLAIN, "data.train_size")),
    ("Data", "Test subset per epoch", (PLAIN, "data.eval_size")),
    ("Plain CNN", "Depth (weight layers)", (PLAIN, "model.depth")),
    ("Plain CNN", "Width (first stage)", (PLAIN, "model.width")),
    ("Plain CNN", "BatchNorm", (PLAIN, "model.batchnorm")),
    ("Plain CNN", "Init.\\ scheme", (PLAIN, "model.init.scheme")),
    ("Plain CNN", "Init.\\ weight scale", (PLAIN, "model.init.weight_scale")),
    ("Plain CNN", "Init.\\ bias", (PLAIN, "model.init.bias")),
    ("ResNet", "Depth", (RESNET, "model.depth")),
    ("ResNet", "Width", (RESNET, "model.width")),
    ("ResNet", "BatchNorm", (RESNET, "model.batchnorm")),
    ("Activations", "Leaky ReLU default slope", (LEAKY, "activation.negative_slope")),
    ("Activations", "PReLU slopes", (PRELU, "activation.mode")),
    ("Activations", "PReLU initial slope", (PRELU, "activation.init")),
    ("Activations", "PReLU slope weight decay", (PRELU, "activation.weight_decay")),
    ("SGD", "Learning rate", (PLAIN, "optim.lr")),
    ("SGD", "Momentum", (PLAIN, "optim.momentum")),
    ("SGD", "Nesterov", (PLAIN, "optim.nesterov")),
    ("SGD", "Weight decay", (PLAIN, "optim.weight_decay")),
    ("SGD", "Batch size", (PLAIN, "optim.batch_size")),
    ("SGD", "Epochs", (PLAIN, "optim.epochs")),
    ("SGD", "Warm-up epochs", (PLAIN, "optim.warmup_epochs")),
    ("SGD", "Schedule", (PLAIN, "optim.schedule")),
    ("Monitor", "Probe images", (PLAIN, "monitor.probe_size")),
    ("Monitor", "Measured every (epochs)", (PLAIN, "monitor.every")),
    ("Monitor", "Dormant threshold $\\tau$", (PLAIN, "monitor.tau")),
]
SWEPT = (("Study", "Seeds"), ("Study", "Activations swept"))  # then one row per study's levels


def fmt(v) -> str:
    if v is None:
        return "all"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return f"\\num{{{v:g}}}"
    return latex.tex_escape(v)


def fmt_list(values) -> str:
    return ", ".join(fmt(v) for v in values)


@lru_cache(maxsize=None)
def option_display(option: str) -> str:
    """Activation config option (leaky_relu, prelu, ...) -> its label (Leaky 0.01, PReLU)."""
    return activations.display(activations.label(compose("train", overrides=[f"activation={option}"]).activation))


def study_label(cfg) -> str:
    """The row of a study's levels, from the knob table: 'Learning rates', 'Plain depths'."""
    return knobs.levels_label(knobs.BY_KEY[cfg.study.knob].column, cfg.model.name)


def profile_values(profile: str) -> dict[tuple[str, str], str]:
    """{(section, row label): LaTeX value} for one profile."""
    out, cfgs = {}, {}
    for section, label, (overrides, key) in ROWS:
        if tuple(overrides) not in cfgs:
            cfgs[tuple(overrides)] = compose("train", overrides=[f"profile={profile}", *overrides])
        cfg = cfgs[tuple(overrides)]
        v = OmegaConf.select(cfg, key)
        if key == "data.train_size" and v is None and cfg.data.source == "synthetic":
            v = cfg.data.synthetic_train
        out[section, label] = fmt(v)
    for name in STUDIES:
        cfg = compose("train", overrides=[f"+study={name}", f"profile={profile}"], return_hydra_config=True)
        values = sweep_values(cfg.hydra.sweeper.params)
        out["Study", study_label(cfg)] = fmt_list(values[cfg.study.knob])
        out["Study", "Activations swept"] = ", ".join(option_display(o) for o in values["activation"])
        out["Study", "Seeds"] = fmt_list(values["seed"])
    return out


def table(reported: str, description: str) -> str:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cols = {p: profile_values(p) for p in PROFILES}
    used = data.source_of(description)
    if used and reported in cols and fmt(used) != cols[reported]["Data", "Source"]:
        cols[reported]["Data", "Source"] = f"{fmt(used)} (as run; configured: {cols[reported]['Data', 'Source']})"
    studies = [k for k in cols[PROFILES[0]] if k[0] == "Study" and k not in SWEPT]  # in STUDIES order
    rows = [(s, label) for s, label, _ in ROWS] + list(SWEPT) + studies
    head = [f"\\textbf{{{p}}} (reported)" if p == reported else p for p in PROFILES]
    lines = []
    section = None
    for s, label in rows:
        if s != section and section is not None:
            lines.append(r"\addlinespace")
        lines.append(f"{s if s != section else ''} & {label} & "
                     + " & ".join(cols[p][s, label] for p in PROFILES) + r" \\")
        section = s
    return latex.tabular("@{}ll" + r">{\raggedright\arraybackslash}p{0.18\linewidth}" * len(PROFILES) + "@{}",
                         "& Setting & " + " & ".join(head) + r" \\", lines)


def main(argv=None) -> int:
    # the results only say which profile the paper reports; the settings come from conf/
    def text(results_dir):
        study = results.load(results_dir).study
        return table(study["profile"], study.get("data_description", ""))
    return cli.generated_main("table_setup", text, argv)


if __name__ == "__main__":
    sys.exit(main())
